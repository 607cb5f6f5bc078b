//! [`TracingStore`]: any store, with a `tracing` span around every call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::stream::{BoxStream, Stream, StreamExt};
use tracing::field::Empty;
use tracing::{Instrument, Span, info_span};

use crate::{
    AppendCondition, AppendResult, CheckpointStore, EventAppender, EventData, EventFilter,
    EventQuery, EventReader, ExpectedVersion, FeedPage, FeedSignal, GlobalPosition, ParkedEvent,
    QueryRead, ReadOptions, RecordedEvent, RecordedPayload, Result, Snapshot, SnapshotRead,
    SnapshotStore, StreamAppend, StreamId, StreamVersions, StreamsView, TimeRange,
};

/// Wraps a store and opens a `tracing` span (level INFO, target
/// `factum_core::traced`) around each call: `factum.append` with the stream
/// id (or the number of streams), the number of events and, when done, how
/// many were written and how many were duplicates; `factum.read_stream` with
/// the stream id and, when done, the number of events read; `factum.read_all`
/// with the start position, limit and count; `factum.read_all_between`
/// and `factum.read_feed_between` with the time range as well; and one span for each other
/// call. A failed call records its error in the span's `error` field.
/// Everything else is forwarded unchanged, the store's
/// [`feed_signal`](EventReader::feed_signal) too, so subscriptions and
/// projection runners through a traced store wake on its commits as they
/// would without it.
///
/// ```
/// use factum_core::{EventStore, TracingStore};
///
/// fn traced(store: impl EventStore + 'static) -> impl EventStore {
///     TracingStore::new(store)
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TracingStore<S> {
    inner: S,
}

impl<S> TracingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the store.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Runs `call` inside `span` and records its error, if any, in the span.
async fn in_span<T>(span: Span, call: impl Future<Output = Result<T>>) -> Result<T> {
    let result = call.instrument(span.clone()).await;
    if let Err(e) = &result {
        span.record("error", tracing::field::display(e));
    }
    result
}

/// Records how many events an append wrote and how many were duplicates.
fn record_appends(span: &Span, results: &[AppendResult]) {
    let (mut written, mut duplicates) = (0u64, 0u64);
    for outcome in results.iter().flat_map(|r| &r.events) {
        if outcome.is_duplicate() {
            duplicates += 1;
        } else {
            written += 1;
        }
    }
    span.record("written", written);
    span.record("duplicates", duplicates);
}

#[async_trait]
impl<S: EventAppender> EventAppender for TracingStore<S> {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        let events: usize = appends.iter().map(|a| a.events.len()).sum();
        let span = info_span!(
            "factum.append",
            stream = Empty,
            streams = appends.len(),
            events,
            written = Empty,
            duplicates = Empty,
            error = Empty,
        );
        if let [one] = appends.as_slice() {
            span.record("stream", one.stream_id.as_str());
        }
        let result = in_span(span.clone(), self.inner.append_many(appends)).await;
        if let Ok(results) = &result {
            record_appends(&span, results);
        }
        result
    }

    async fn append_if(
        &self,
        appends: Vec<StreamAppend>,
        condition: AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        let events: usize = appends.iter().map(|a| a.events.len()).sum();
        let span = info_span!(
            "factum.append_if",
            stream = Empty,
            streams = appends.len(),
            events,
            after = %condition.after,
            query_items = condition.query.items().len(),
            written = Empty,
            duplicates = Empty,
            error = Empty,
        );
        if let [one] = appends.as_slice() {
            span.record("stream", one.stream_id.as_str());
        }
        let result = in_span(span.clone(), self.inner.append_if(appends, condition)).await;
        if let Ok(results) = &result {
            record_appends(&span, results);
        }
        result
    }

    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<EventData>,
    ) -> Result<AppendResult> {
        let span = info_span!(
            "factum.append",
            stream = stream.as_str(),
            streams = 1,
            events = events.len(),
            written = Empty,
            duplicates = Empty,
            error = Empty,
        );
        let result = in_span(span.clone(), self.inner.append(stream, expected, events)).await;
        if let Ok(one) = &result {
            record_appends(&span, std::slice::from_ref(one));
        }
        result
    }
}

/// A stream read that polls the inner stream inside its span and records
/// the number of events when it ends.
struct TracedStream<'a, T> {
    inner: BoxStream<'a, Result<T>>,
    span: Span,
    count: u64,
}

impl<T> Stream for TracedStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let next = this.inner.poll_next_unpin(cx);
        match &next {
            Poll::Ready(Some(Ok(_))) => this.count += 1,
            Poll::Ready(Some(Err(e))) => {
                this.span.record("error", tracing::field::display(e));
            }
            Poll::Ready(None) => {
                this.span.record("events", this.count);
            }
            Poll::Pending => {}
        }
        next
    }
}

/// A lazy stream read (of whole events, or of `payloads` only) started by
/// `read` inside a `factum.read_stream` span that records how many items it
/// yielded.
fn traced_read<'a, T: Send + 'a>(
    stream: &StreamId,
    payloads: bool,
    read: impl FnOnce() -> BoxStream<'a, Result<T>>,
) -> BoxStream<'a, Result<T>> {
    let span = info_span!(
        "factum.read_stream",
        stream = stream.as_str(),
        lazy = true,
        payloads,
        events = Empty,
        error = Empty,
    );
    let inner = span.in_scope(read);
    TracedStream {
        inner,
        span,
        count: 0,
    }
    .boxed()
}

#[async_trait]
impl<S: EventReader> EventReader for TracingStore<S> {
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        traced_read(stream, false, || {
            self.inner.read_stream_events(stream, options)
        })
    }

    fn read_stream_payloads<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedPayload>> {
        traced_read(stream, true, || {
            self.inner.read_stream_payloads(stream, options)
        })
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadOptions,
    ) -> Result<Vec<RecordedEvent>> {
        let span = info_span!(
            "factum.read_stream",
            stream = stream.as_str(),
            lazy = false,
            events = Empty,
            error = Empty,
        );
        let result = in_span(span.clone(), self.inner.read_stream(stream, options)).await;
        if let Ok(events) = &result {
            span.record("events", events.len());
        }
        result
    }

    async fn read_all(&self, after: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>> {
        let span = info_span!(
            "factum.read_all",
            after = %after,
            limit,
            events = Empty,
            error = Empty,
        );
        let result = in_span(span.clone(), self.inner.read_all(after, limit)).await;
        if let Ok(events) = &result {
            span.record("events", events.len());
        }
        result
    }

    async fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        let span = info_span!(
            "factum.read_feed",
            after = %after,
            limit,
            events = Empty,
            error = Empty,
        );
        let result = in_span(span.clone(), self.inner.read_feed(after, limit, filter)).await;
        if let Ok(page) = &result {
            span.record("events", page.events.len());
        }
        result
    }

    async fn read_query(&self, query: &EventQuery) -> Result<QueryRead> {
        let span = info_span!(
            "factum.read_query",
            query_items = query.items().len(),
            events = Empty,
            position = Empty,
            error = Empty,
        );
        let result = in_span(span.clone(), self.inner.read_query(query)).await;
        if let Ok(read) = &result {
            span.record("events", read.events.len());
            span.record("position", tracing::field::display(read.position));
        }
        result
    }

    async fn read_all_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let span = info_span!(
            "factum.read_all_between",
            range = ?range,
            after = %after,
            limit,
            events = Empty,
            error = Empty,
        );
        let result = in_span(
            span.clone(),
            self.inner.read_all_between(range, after, limit),
        )
        .await;
        if let Ok(events) = &result {
            span.record("events", events.len());
        }
        result
    }

    async fn read_feed_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        let span = info_span!(
            "factum.read_feed_between",
            range = ?range,
            after = %after,
            limit,
            events = Empty,
            error = Empty,
        );
        let read = self.inner.read_feed_between(range, after, limit, filter);
        let result = in_span(span.clone(), read).await;
        if let Ok(page) = &result {
            span.record("events", page.events.len());
        }
        result
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        let span = info_span!(
            "factum.stream_version",
            stream = stream.as_str(),
            error = Empty
        );
        in_span(span, self.inner.stream_version(stream)).await
    }

    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        let span = info_span!("factum.head_position", error = Empty);
        in_span(span, self.inner.head_position()).await
    }

    async fn stream_versions(&self, streams: &[StreamId]) -> Result<StreamVersions> {
        let span = info_span!(
            "factum.stream_versions",
            streams = streams.len(),
            error = Empty
        );
        in_span(span, self.inner.stream_versions(streams)).await
    }

    /// The streams' versions are read inside a `factum.read_streams` span
    /// that records the point; each stream's events then in a
    /// `factum.read_stream` span of its own, as a lazy read.
    async fn read_streams<'a>(&'a self, streams: &'a [StreamId]) -> Result<StreamsView<'a>> {
        let span = info_span!(
            "factum.read_streams",
            streams = streams.len(),
            position = Empty,
            error = Empty,
        );
        let view = in_span(span.clone(), self.inner.read_streams(streams)).await?;
        if let Some(position) = view.position() {
            span.record("position", tracing::field::display(position));
        }
        Ok(view.map_reads(|stream, events| traced_read(stream, false, || events)))
    }

    fn feed_signal(&self) -> Option<FeedSignal> {
        self.inner.feed_signal()
    }
}

#[async_trait]
impl<S: SnapshotStore> SnapshotStore for TracingStore<S> {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        let span = info_span!(
            "factum.save_snapshot",
            stream = snapshot.stream_id.as_str(),
            version = snapshot.stream_version,
            error = Empty,
        );
        in_span(span, self.inner.save_snapshot(snapshot)).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let span = info_span!(
            "factum.load_snapshot",
            stream = stream.as_str(),
            error = Empty
        );
        in_span(span, self.inner.load_snapshot(stream)).await
    }

    async fn load_snapshot_with_payloads(
        &self,
        stream: &StreamId,
        schema_version: u32,
        until: Option<u64>,
        limit: usize,
    ) -> Result<Option<SnapshotRead>> {
        let span = info_span!(
            "factum.load_snapshot_with_payloads",
            stream = stream.as_str(),
            error = Empty
        );
        let read = self
            .inner
            .load_snapshot_with_payloads(stream, schema_version, until, limit);
        in_span(span, read).await
    }
}

#[async_trait]
impl<S: CheckpointStore> CheckpointStore for TracingStore<S> {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
        let span = info_span!("factum.load_checkpoint", name, error = Empty);
        in_span(span, self.inner.load_checkpoint(name)).await
    }

    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
        let span = info_span!(
            "factum.save_checkpoint",
            name,
            position = %position,
            error = Empty
        );
        in_span(span, self.inner.save_checkpoint(name, position)).await
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<()> {
        let span = info_span!("factum.delete_checkpoint", name, error = Empty);
        in_span(span, self.inner.delete_checkpoint(name)).await
    }

    async fn park_event(&self, parked: &ParkedEvent) -> Result<()> {
        let span = info_span!(
            "factum.park_event",
            name = parked.projection.as_str(),
            position = %parked.position,
            error = Empty
        );
        in_span(span, self.inner.park_event(parked)).await
    }

    async fn parked_events(&self, name: &str) -> Result<Vec<ParkedEvent>> {
        let span = info_span!("factum.parked_events", name, error = Empty);
        in_span(span, self.inner.parked_events(name)).await
    }

    async fn unpark_event(&self, name: &str, position: GlobalPosition) -> Result<bool> {
        let span = info_span!(
            "factum.unpark_event",
            name,
            position = %position,
            error = Empty
        );
        in_span(span, self.inner.unpark_event(name, position)).await
    }
}

#[cfg(test)]
#[path = "traced_tests.rs"]
mod tests;
