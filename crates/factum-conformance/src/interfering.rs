//! [`Interfering`]: a store whose every append is beaten by a concurrent
//! writer, to drive the repository's retries to their end.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use factum_core::{
    AppendCondition, AppendResult, CheckpointStore, EventAppender, EventData, EventFilter,
    EventReader, EventStore, ExpectedVersion, FeedPage, GlobalPosition, ParkedEvent, ReadOptions,
    RecordedEvent, RecordedPayload, Result, Snapshot, SnapshotRead, SnapshotStore, StreamAppend,
    StreamId, StreamVersions, StreamsView, TimeRange,
};

/// Forwards every call to the store underneath, but first appends an event
/// made by `event` (with [`ExpectedVersion::Any`]) to each stream an append
/// names, as a writer slipping in between a reader's load and its append
/// would: an append expecting the version it read always conflicts.
pub(super) struct Interfering {
    pub(super) inner: Arc<dyn EventStore>,
    pub(super) event: fn() -> EventData,
}

#[async_trait]
impl EventAppender for Interfering {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        self.sneak_in(&appends).await?;
        self.inner.append_many(appends).await
    }

    async fn append_if(
        &self,
        appends: Vec<StreamAppend>,
        condition: AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.sneak_in(&appends).await?;
        self.inner.append_if(appends, condition).await
    }
}

impl Interfering {
    /// Appends one event to each stream `appends` names.
    async fn sneak_in(&self, appends: &[StreamAppend]) -> Result<()> {
        for append in appends {
            let sneaked = vec![(self.event)()];
            self.inner
                .append(&append.stream_id, ExpectedVersion::Any, sneaked)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl EventReader for Interfering {
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        self.inner.read_stream_events(stream, options)
    }

    fn read_stream_payloads<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedPayload>> {
        self.inner.read_stream_payloads(stream, options)
    }

    async fn read_all(&self, after: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all(after, limit).await
    }

    async fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        self.inner.read_feed(after, limit, filter).await
    }

    async fn read_all_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all_between(range, after, limit).await
    }

    async fn read_feed_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        self.inner
            .read_feed_between(range, after, limit, filter)
            .await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        self.inner.stream_version(stream).await
    }

    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        self.inner.head_position().await
    }

    async fn stream_versions(&self, streams: &[StreamId]) -> Result<StreamVersions> {
        self.inner.stream_versions(streams).await
    }

    async fn read_streams<'a>(&'a self, streams: &'a [StreamId]) -> Result<StreamsView<'a>> {
        self.inner.read_streams(streams).await
    }
}

#[async_trait]
impl SnapshotStore for Interfering {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        self.inner.save_snapshot(snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.inner.load_snapshot(stream).await
    }

    async fn load_snapshot_with_payloads(
        &self,
        stream: &StreamId,
        schema_version: u32,
        until: Option<u64>,
        limit: usize,
    ) -> Result<Option<SnapshotRead>> {
        self.inner
            .load_snapshot_with_payloads(stream, schema_version, until, limit)
            .await
    }
}

#[async_trait]
impl CheckpointStore for Interfering {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
        self.inner.load_checkpoint(name).await
    }

    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
        self.inner.save_checkpoint(name, position).await
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<()> {
        self.inner.delete_checkpoint(name).await
    }

    async fn park_event(&self, parked: &ParkedEvent) -> Result<()> {
        self.inner.park_event(parked).await
    }

    async fn parked_events(&self, name: &str) -> Result<Vec<ParkedEvent>> {
        self.inner.parked_events(name).await
    }

    async fn unpark_event(&self, name: &str, position: GlobalPosition) -> Result<bool> {
        self.inner.unpark_event(name, position).await
    }
}
