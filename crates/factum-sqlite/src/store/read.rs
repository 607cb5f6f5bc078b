//! [`EventReader`] for [`SqliteStore`]: stream pages and versions; the
//! global feed is in `feed.rs`.
//!
//! A stream is read page by page, each page one short query on one of the
//! reader connections. No read transaction stays open between pages, so a
//! reader of a 1,000,000-event stream holds at most one page in memory and
//! never stops SQLite from checkpointing the WAL. Events are immutable and
//! versions contiguous, so pages read from successive snapshots still fit
//! together: a forward read without an upper bound may also yield events
//! appended while it runs, as the memory backend's does.

use async_trait::async_trait;
use factum_core::backend::{saturating_i64, stored_u64};
use factum_core::{
    BoxError, Direction, EventFilter, EventReader, FeedPage, FeedSignal, GlobalPosition,
    ReadOptions, RecordedEvent, RecordedPayload, Result, StreamId, StreamVersions, TimeRange,
};
use futures::stream::{self, BoxStream, StreamExt};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::{SqliteStore, feed, range, versions};
use crate::connections::Connections;
use crate::decode::{recorded_event, recorded_payload};
use crate::error::backend;
use crate::sql;

#[async_trait]
impl EventReader for SqliteStore {
    /// Reads `stream` page by page: each page of up to 512 events is one
    /// short query, and no read transaction stays open between pages, so a
    /// reader of a 1,000,000-event stream holds one page in memory and never
    /// keeps SQLite from checkpointing its WAL. Events are immutable and
    /// versions contiguous, so pages from successive snapshots fit together;
    /// a forward read without an upper bound may also yield events appended
    /// while it runs.
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        stream_events(&self.reader, stream, options)
    }

    /// Pages like [`read_stream_events`](Self::read_stream_events), with
    /// the five columns folding needs instead of eleven.
    fn read_stream_payloads<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedPayload>> {
        stream_events(&self.reader, stream, options)
    }

    async fn read_all(&self, after: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>> {
        feed::read_all(&self.reader, after, limit).await
    }

    async fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        feed::read_feed(&self.reader, after, limit, filter).await
    }

    async fn read_all_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        range::read_all_between(&self.reader, range, after, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        stream_version(&self.reader, stream).await
    }

    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        feed::head_position(&self.reader).await
    }

    /// One statement on a reader connection, so one snapshot: the feed's
    /// head and every stream's version there (`sql/stream_states.sql`, which
    /// appends run under the write lock).
    async fn stream_versions(&self, streams: &[StreamId]) -> Result<StreamVersions> {
        if streams.is_empty() {
            let position = self.head_position().await?;
            return Ok(StreamVersions {
                position,
                versions: Vec::new(),
            });
        }
        let fail = |e: BoxError| {
            backend(
                format!("reading the versions of {} streams", streams.len()),
                e,
            )
        };
        let mut conn = self.reader.acquire().await.map_err(|e| fail(e.into()))?;
        versions::versions_at_head(&mut conn, streams)
            .await
            .map_err(fail)
    }

    /// Fires after each append through this store or its clones. Appends by
    /// another store or process on the same file do not fire it: subscribers
    /// find those by polling.
    fn feed_signal(&self) -> Option<FeedSignal> {
        Some(self.notifier.signal())
    }
}

/// Events a lazy stream read fetches per query.
const PAGE_SIZE: usize = 512;

/// Where a lazy read stands: the next version to read (`None`: done) and how
/// many events the limit still allows.
struct Cursor {
    next: Option<u64>,
    remaining: usize,
}

/// What a stream read yields per row: whole events or payloads.
trait StreamItem: Sized + Send + 'static {
    /// The statements reading one page forward and backward.
    const SQL: [&'static str; 2];
    /// Decodes a row of `stream`.
    fn decode(row: &SqliteRow, stream: &StreamId) -> Result<Self>;
    /// The item's version in its stream.
    fn stream_version(&self) -> u64;
}

impl StreamItem for RecordedEvent {
    const SQL: [&'static str; 2] = [sql::READ_STREAM_FORWARD, sql::READ_STREAM_BACKWARD];
    fn decode(row: &SqliteRow, stream: &StreamId) -> Result<Self> {
        recorded_event(row, Some(stream))
    }
    fn stream_version(&self) -> u64 {
        self.stream_version
    }
}

impl StreamItem for RecordedPayload {
    const SQL: [&'static str; 2] = [sql::READ_PAYLOADS_FORWARD, sql::READ_PAYLOADS_BACKWARD];
    fn decode(row: &SqliteRow, stream: &StreamId) -> Result<Self> {
        recorded_payload(row, stream)
    }
    fn stream_version(&self) -> u64 {
        self.stream_version
    }
}

/// Reads a stream lazily, whole events or payloads; see
/// [`factum_core::EventReader::read_stream_events`].
fn stream_events<'a, T: StreamItem>(
    reader: &'a Connections,
    stream: &'a StreamId,
    options: ReadOptions,
) -> BoxStream<'a, Result<T>> {
    let (low, high) = options.version_range();
    let start = Cursor {
        next: (low <= high).then_some(match options.direction() {
            Direction::Forward => low,
            Direction::Backward => high,
        }),
        remaining: options.limit().unwrap_or(usize::MAX),
    };
    stream::unfold(start, move |cursor| async move {
        let next = cursor.next?;
        if cursor.remaining == 0 {
            return None;
        }
        let max = cursor.remaining.min(PAGE_SIZE);
        let (from, to) = match options.direction() {
            Direction::Forward => (next, high),
            Direction::Backward => (low, next),
        };
        let page = match stream_page::<T>(reader, stream, options.direction(), from, to, max).await
        {
            Ok(page) => page,
            Err(error) => {
                let done = Cursor {
                    next: None,
                    remaining: 0,
                };
                return Some((vec![Err(error)], done));
            }
        };
        let last = page.last()?.stream_version();
        let full = page.len() == max;
        let next = match options.direction() {
            Direction::Forward => (full && last < high).then(|| last + 1),
            Direction::Backward => (full && last > low).then(|| last - 1),
        };
        let after = Cursor {
            next,
            remaining: cursor.remaining - page.len(),
        };
        Some((page.into_iter().map(Ok).collect::<Vec<_>>(), after))
    })
    .flat_map(stream::iter)
    .boxed()
}

/// Up to `max` events of `stream` with versions in `from..=to`, in
/// `direction`.
async fn stream_page<T: StreamItem>(
    reader: &Connections,
    stream: &StreamId,
    direction: Direction,
    from: u64,
    to: u64,
    max: usize,
) -> Result<Vec<T>> {
    let fail = |e: BoxError| backend(format!("reading stream {stream}"), e);
    let [forward, backward] = T::SQL;
    let sql = match direction {
        Direction::Forward => forward,
        Direction::Backward => backward,
    };
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let rows = sqlx::query(sql)
        .bind(stream.as_str())
        .bind(saturating_i64(from))
        .bind(saturating_i64(to))
        .bind(saturating_i64(max as u64))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    rows.iter().map(|row| T::decode(row, stream)).collect()
}

/// The stream's current version.
async fn stream_version(reader: &Connections, stream: &StreamId) -> Result<Option<u64>> {
    let fail = |e: BoxError| backend(format!("reading the version of stream {stream}"), e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    version_on(&mut conn, stream).await.map_err(fail)
}

/// The stream's current version, read on `conn`: a reader's, or the
/// writer's inside an append, under the write lock.
pub(super) async fn version_on(
    conn: &mut SqliteConnection,
    stream: &StreamId,
) -> Result<Option<u64>, BoxError> {
    let row = sqlx::query(sql::STREAM_VERSION)
        .bind(stream.as_str())
        .fetch_one(conn)
        .await?;
    let version: Option<i64> = row.try_get(0)?;
    Ok(version
        .map(|v| stored_u64(v, "a stream version"))
        .transpose()?)
}
