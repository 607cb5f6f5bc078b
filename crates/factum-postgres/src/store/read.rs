//! [`EventReader`] for [`PostgresStore`]: stream reads streamed row by row,
//! and the global feed (see `feed.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use factum_core::{
    Direction, EventFilter, EventReader, FeedPage, GlobalPosition, ReadOptions, RecordedEvent,
    RecordedPayload, Result, StreamId, StreamVersions, TimeRange,
};
use futures::stream::{self, BoxStream, StreamExt};
use sqlx::Row;
use sqlx::postgres::{PgExecutor, PgRow};

use factum_core::backend::saturating_i64;

use super::PostgresStore;
use crate::decode;
use crate::error::{backend, unsigned};
use crate::sql::statement;

#[async_trait]
impl EventReader for PostgresStore {
    /// One query whose rows are decoded as they arrive (sqlx `fetch`), so a
    /// long stream is never held in memory whole. The read holds one pooled
    /// connection until the stream is finished or dropped.
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        let sql = [
            &self.sql().read_stream_forward,
            &self.sql().read_stream_backward,
        ];
        self.stream_rows(stream, options, sql)
            .map(move |row| decode::event(&row?, 0, Some(stream)))
            .boxed()
    }

    /// Like [`read_stream_events`](Self::read_stream_events), with the five
    /// columns of `sql/payload_columns.sql` instead of twelve.
    fn read_stream_payloads<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedPayload>> {
        let sql = [
            &self.sql().read_payloads_forward,
            &self.sql().read_payloads_backward,
        ];
        self.stream_rows(stream, options, sql)
            .map(move |row| decode::payload_row(&row?, stream))
            .boxed()
    }

    async fn read_all(&self, after: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.read_all_page(after, limit).await
    }

    async fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        self.read_filtered(after, limit, filter).await
    }

    async fn read_all_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.read_feed_between(range, after, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        self.version_on(self.pool(), stream).await
    }

    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        self.read_head().await
    }

    /// The feed's head as [`head_position`](Self::head_position) reads it
    /// (below the horizon, waiting for held-back rows up to the feed wait),
    /// then every stream's version at that position in one statement; see
    /// `store/versions.rs`.
    async fn stream_versions(&self, streams: &[StreamId]) -> Result<StreamVersions> {
        self.read_stream_versions(streams).await
    }

    /// Fed by a `LISTEN` connection of the store's own (see the crate docs,
    /// "Notifications"), started on the first call inside a tokio runtime
    /// and closed when the last clone of the store is dropped; `None`
    /// outside a runtime.
    fn feed_signal(&self) -> Option<factum_core::FeedSignal> {
        self.listener_signal()
    }
}

impl PostgresStore {
    /// The stream's current version, read through `executor`: the pool, or
    /// an append's own connection.
    pub(super) async fn version_on<'e>(
        &self,
        executor: impl PgExecutor<'e>,
        stream: &StreamId,
    ) -> Result<Option<u64>> {
        let operation = || format!("reading the version of stream {stream}");
        let row = sqlx::query(statement(&self.sql().stream_version))
            .bind(stream.as_str())
            .fetch_one(executor)
            .await
            .map_err(|e| backend(operation(), e))?;
        let version: Option<i64> = row.try_get(0).map_err(|e| backend(operation(), e))?;
        version.map(|v| unsigned(v, "a stream version")).transpose()
    }

    /// The rows of a stream read with `options`, by the forward or the
    /// backward statement of `sql`, as they arrive.
    fn stream_rows<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
        [forward, backward]: [&Arc<str>; 2],
    ) -> BoxStream<'a, Result<PgRow>> {
        let (from, to) = options.version_range();
        if from > to || options.limit() == Some(0) {
            return stream::empty().boxed();
        }
        let sql = match options.direction() {
            Direction::Forward => forward,
            Direction::Backward => backward,
        };
        let limit = options.limit().map(|l| saturating_i64(l as u64));
        sqlx::query(statement(sql))
            .bind(stream.as_str())
            .bind(saturating_i64(from))
            .bind(saturating_i64(to))
            .bind(limit)
            .fetch(self.pool())
            .map(move |row| row.map_err(|e| backend(format!("reading stream {stream}"), e)))
            .boxed()
    }
}
