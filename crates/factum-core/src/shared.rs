//! The store traits for `Arc<S>` and `&S`, so an `Arc<dyn EventStore>` or a
//! `&dyn EventStore` can go wherever an `impl EventStore` is asked for.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::{
    AppendCondition, AppendResult, CheckpointStore, EventAppender, EventData, EventFilter,
    EventQuery, EventReader, ExpectedVersion, FeedPage, FeedSignal, GlobalPosition, ParkedEvent,
    QueryRead, ReadOptions, RecordedEvent, RecordedPayload, Result, Snapshot, SnapshotRead,
    SnapshotStore, StreamAppend, StreamId, StreamVersions, StreamsView, TimeRange,
};

macro_rules! forward_store_traits {
    ($ptr:ty) => {
        #[async_trait]
        impl<S: EventAppender + ?Sized> EventAppender for $ptr {
            async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
                (**self).append_many(appends).await
            }

            async fn append_if(
                &self,
                appends: Vec<StreamAppend>,
                condition: AppendCondition,
            ) -> Result<Vec<AppendResult>> {
                (**self).append_if(appends, condition).await
            }

            async fn append(
                &self,
                stream: &StreamId,
                expected: ExpectedVersion,
                events: Vec<EventData>,
            ) -> Result<AppendResult> {
                (**self).append(stream, expected, events).await
            }
        }

        #[async_trait]
        impl<S: EventReader + ?Sized> EventReader for $ptr {
            fn read_stream_events<'a>(
                &'a self,
                stream: &'a StreamId,
                options: ReadOptions,
            ) -> BoxStream<'a, Result<RecordedEvent>> {
                (**self).read_stream_events(stream, options)
            }

            fn read_stream_payloads<'a>(
                &'a self,
                stream: &'a StreamId,
                options: ReadOptions,
            ) -> BoxStream<'a, Result<RecordedPayload>> {
                (**self).read_stream_payloads(stream, options)
            }

            async fn read_stream(
                &self,
                stream: &StreamId,
                options: ReadOptions,
            ) -> Result<Vec<RecordedEvent>> {
                (**self).read_stream(stream, options).await
            }

            async fn read_all(
                &self,
                after: GlobalPosition,
                limit: usize,
            ) -> Result<Vec<RecordedEvent>> {
                (**self).read_all(after, limit).await
            }

            async fn read_feed(
                &self,
                after: GlobalPosition,
                limit: usize,
                filter: &EventFilter,
            ) -> Result<FeedPage> {
                (**self).read_feed(after, limit, filter).await
            }

            async fn read_query(&self, query: &EventQuery) -> Result<QueryRead> {
                (**self).read_query(query).await
            }

            async fn read_all_between(
                &self,
                range: TimeRange,
                after: GlobalPosition,
                limit: usize,
            ) -> Result<Vec<RecordedEvent>> {
                (**self).read_all_between(range, after, limit).await
            }

            async fn read_feed_between(
                &self,
                range: TimeRange,
                after: GlobalPosition,
                limit: usize,
                filter: &EventFilter,
            ) -> Result<FeedPage> {
                (**self)
                    .read_feed_between(range, after, limit, filter)
                    .await
            }

            async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
                (**self).stream_version(stream).await
            }

            async fn head_position(&self) -> Result<Option<GlobalPosition>> {
                (**self).head_position().await
            }

            async fn stream_versions(&self, streams: &[StreamId]) -> Result<StreamVersions> {
                (**self).stream_versions(streams).await
            }

            async fn read_streams<'a>(
                &'a self,
                streams: &'a [StreamId],
            ) -> Result<StreamsView<'a>> {
                (**self).read_streams(streams).await
            }

            fn feed_signal(&self) -> Option<FeedSignal> {
                (**self).feed_signal()
            }
        }

        #[async_trait]
        impl<S: SnapshotStore + ?Sized> SnapshotStore for $ptr {
            async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
                (**self).save_snapshot(snapshot).await
            }

            async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
                (**self).load_snapshot(stream).await
            }

            async fn load_snapshot_with_payloads(
                &self,
                stream: &StreamId,
                schema_version: u32,
                until: Option<u64>,
                limit: usize,
            ) -> Result<Option<SnapshotRead>> {
                (**self)
                    .load_snapshot_with_payloads(stream, schema_version, until, limit)
                    .await
            }
        }

        #[async_trait]
        impl<S: CheckpointStore + ?Sized> CheckpointStore for $ptr {
            async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
                (**self).load_checkpoint(name).await
            }

            async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
                (**self).save_checkpoint(name, position).await
            }

            async fn delete_checkpoint(&self, name: &str) -> Result<()> {
                (**self).delete_checkpoint(name).await
            }

            async fn park_event(&self, parked: &ParkedEvent) -> Result<()> {
                (**self).park_event(parked).await
            }

            async fn parked_events(&self, name: &str) -> Result<Vec<ParkedEvent>> {
                (**self).parked_events(name).await
            }

            async fn unpark_event(&self, name: &str, position: GlobalPosition) -> Result<bool> {
                (**self).unpark_event(name, position).await
            }
        }
    };
}

forward_store_traits!(Arc<S>);
forward_store_traits!(&S);
