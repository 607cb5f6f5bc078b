//! [`TracingStore`]: any store, with a `tracing` span around every call.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::stream::{BoxStream, Stream, StreamExt};
use tracing::field::Empty;
use tracing::{Instrument, Span, info_span};

use crate::{
    AppendResult, CheckpointStore, EventAppender, EventData, EventReader, ExpectedVersion,
    GlobalPosition, ReadOptions, RecordedEvent, Result, Snapshot, SnapshotStore, StreamAppend,
    StreamId,
};

/// Wraps a store and opens a `tracing` span (level INFO, target
/// `factum_core::traced`) around each call: `factum.append` with the stream
/// id (or the number of streams), the number of events and, when done, how
/// many were written and how many were duplicates; `factum.read_stream` with
/// the stream id and, when done, the number of events read; `factum.read_all`
/// with the start position, limit and count; and one span for each other
/// call. A failed call records its error in the span's `error` field.
/// Everything else is forwarded unchanged.
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

/// Records the outcome of a call in its span.
fn finish<T>(span: &Span, result: &Result<T>) {
    if let Err(e) = result {
        span.record("error", tracing::field::display(e));
    }
}

fn record_appends(span: &Span, result: &Result<Vec<AppendResult>>) {
    if let Ok(results) = result {
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
    finish(span, result);
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
        let result = self
            .inner
            .append_many(appends)
            .instrument(span.clone())
            .await;
        record_appends(&span, &result);
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
        let result = self
            .inner
            .append(stream, expected, events)
            .instrument(span.clone())
            .await
            .map(|r| vec![r]);
        record_appends(&span, &result);
        result.map(|mut r| r.remove(0))
    }
}

/// A stream read that polls the inner stream inside its span and records
/// the number of events when it ends.
struct TracedStream<'a> {
    inner: BoxStream<'a, Result<RecordedEvent>>,
    span: Span,
    count: u64,
}

impl Stream for TracedStream<'_> {
    type Item = Result<RecordedEvent>;

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

#[async_trait]
impl<S: EventReader> EventReader for TracingStore<S> {
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        let span = info_span!(
            "factum.read_stream",
            stream = stream.as_str(),
            lazy = true,
            events = Empty,
            error = Empty,
        );
        let inner = span.in_scope(|| self.inner.read_stream_events(stream, options));
        TracedStream {
            inner,
            span,
            count: 0,
        }
        .boxed()
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
        let result = self
            .inner
            .read_stream(stream, options)
            .instrument(span.clone())
            .await;
        if let Ok(events) = &result {
            span.record("events", events.len());
        }
        finish(&span, &result);
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
        let result = self
            .inner
            .read_all(after, limit)
            .instrument(span.clone())
            .await;
        if let Ok(events) = &result {
            span.record("events", events.len());
        }
        finish(&span, &result);
        result
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        let span = info_span!(
            "factum.stream_version",
            stream = stream.as_str(),
            error = Empty
        );
        let result = self
            .inner
            .stream_version(stream)
            .instrument(span.clone())
            .await;
        finish(&span, &result);
        result
    }

    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        let span = info_span!("factum.head_position", error = Empty);
        let result = self.inner.head_position().instrument(span.clone()).await;
        finish(&span, &result);
        result
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
        let result = self
            .inner
            .save_snapshot(snapshot)
            .instrument(span.clone())
            .await;
        finish(&span, &result);
        result
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let span = info_span!(
            "factum.load_snapshot",
            stream = stream.as_str(),
            error = Empty
        );
        let result = self
            .inner
            .load_snapshot(stream)
            .instrument(span.clone())
            .await;
        finish(&span, &result);
        result
    }
}

#[async_trait]
impl<S: CheckpointStore> CheckpointStore for TracingStore<S> {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
        let span = info_span!("factum.load_checkpoint", name, error = Empty);
        let result = self
            .inner
            .load_checkpoint(name)
            .instrument(span.clone())
            .await;
        finish(&span, &result);
        result
    }

    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
        let span = info_span!(
            "factum.save_checkpoint",
            name,
            position = %position,
            error = Empty
        );
        let result = self
            .inner
            .save_checkpoint(name, position)
            .instrument(span.clone())
            .await;
        finish(&span, &result);
        result
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<()> {
        let span = info_span!("factum.delete_checkpoint", name, error = Empty);
        let result = self
            .inner
            .delete_checkpoint(name)
            .instrument(span.clone())
            .await;
        finish(&span, &result);
        result
    }
}

#[cfg(test)]
#[path = "traced_tests.rs"]
mod tests;
