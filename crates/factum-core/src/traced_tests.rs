//! Spans that `TracingStore` opens, seen by a small capturing subscriber.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::TryStreamExt;
use futures::executor::block_on;
use futures::stream::{self, BoxStream, StreamExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use super::TracingStore;
use crate::{
    AppendCondition, AppendResult, Error, EventAppender, EventData, EventOutcome, EventReader,
    ExpectedVersion, GlobalPosition, ReadOptions, RecordedEvent, RecordedPayload, Result,
    StreamAppend, StreamId,
};

/// A span's name and its fields as text.
type SpanRecord = (String, BTreeMap<String, String>);

/// Every span opened.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<SpanRecord>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut spans = self.0.lock().unwrap();
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        spans.push((span.metadata().name().to_owned(), fields));
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut spans = self.0.lock().unwrap();
        let index = id.into_u64() as usize - 1;
        values.record(&mut Fields(&mut spans[index].1));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn span(&self, name: &str) -> BTreeMap<String, String> {
        let spans = self.0.lock().unwrap();
        spans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, fields)| fields.clone())
            .unwrap_or_else(|| panic!("no span {name}"))
    }
}

/// A store with canned answers.
struct Canned;

fn stream_id() -> StreamId {
    StreamId::new("traced-1").unwrap()
}

fn recorded(version: u64) -> RecordedEvent {
    RecordedEvent::from_data(
        EventData::json("E", b"{}".to_vec()),
        stream_id(),
        version,
        GlobalPosition::from_parts(0, version),
        chrono::Utc::now(),
    )
}

#[async_trait]
impl EventAppender for Canned {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        let position = GlobalPosition::from_parts(0, 1);
        Ok(appends
            .into_iter()
            .map(|a| AppendResult {
                stream_id: a.stream_id.clone(),
                current_version: Some(1),
                events: vec![
                    EventOutcome::Written {
                        stream_version: 1,
                        position,
                    },
                    EventOutcome::Duplicate {
                        stream_id: a.stream_id,
                        stream_version: 1,
                        position,
                    },
                ],
            })
            .collect())
    }

    async fn append_if(
        &self,
        appends: Vec<StreamAppend>,
        _condition: AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.append_many(appends).await
    }
}

#[async_trait]
impl EventReader for Canned {
    fn read_stream_events<'a>(
        &'a self,
        _: &'a StreamId,
        _: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        stream::iter((1..=3).map(|v| Ok(recorded(v)))).boxed()
    }
    /// Fewer items than the whole-event read, to tell the two apart.
    fn read_stream_payloads<'a>(
        &'a self,
        _: &'a StreamId,
        _: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedPayload>> {
        stream::iter((1..=2).map(|v| Ok(recorded(v).into()))).boxed()
    }
    async fn read_all(&self, _: GlobalPosition, _: usize) -> Result<Vec<RecordedEvent>> {
        Err(Error::Backend {
            backend: "canned",
            operation: "reading the feed".into(),
            source: "unplugged".into(),
        })
    }
    async fn stream_version(&self, _: &StreamId) -> Result<Option<u64>> {
        Ok(Some(3))
    }
    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        Ok(None)
    }
}

#[test]
fn spans_carry_stream_counts_and_errors() {
    let capture = Capture::default();
    let store = TracingStore::new(Canned);
    tracing::subscriber::with_default(capture.clone(), || {
        block_on(async {
            let events = vec![EventData::json("E", b"{}".to_vec()); 2];
            let result = store
                .append(&stream_id(), ExpectedVersion::Any, events)
                .await
                .unwrap();
            assert_eq!(result.events.len(), 2, "the result is forwarded");
            let read: Vec<_> = store
                .read_stream_events(&stream_id(), ReadOptions::all())
                .try_collect()
                .await
                .unwrap();
            assert_eq!(read.len(), 3);
            assert!(store.read_all(GlobalPosition::START, 10).await.is_err());
            assert_eq!(store.stream_version(&stream_id()).await.unwrap(), Some(3));
            let streams = [stream_id()];
            let view = store.read_streams(&streams).await.unwrap();
            assert_eq!(view.streams()[0].version(), None, "Canned has no head");
        });
    });
    let append = capture.span("factum.append");
    assert_eq!(append["stream"], "\"traced-1\"");
    assert_eq!(append["events"], "2");
    assert_eq!(append["written"], "1");
    assert_eq!(append["duplicates"], "1");
    let read = capture.span("factum.read_stream");
    assert_eq!(read["stream"], "\"traced-1\"");
    assert_eq!(read["events"], "3");
    let several = capture.span("factum.read_streams");
    assert_eq!(several["streams"], "1");
    let feed = capture.span("factum.read_all");
    assert_eq!(feed["limit"], "10");
    assert!(feed["error"].contains("unplugged"), "{feed:?}");
    assert_eq!(
        capture.span("factum.stream_version")["stream"],
        "\"traced-1\""
    );
}

#[test]
fn payload_reads_reach_the_inner_store_in_their_own_span() {
    let capture = Capture::default();
    let store = TracingStore::new(Canned);
    tracing::subscriber::with_default(capture.clone(), || {
        block_on(async {
            let read: Vec<_> = store
                .read_stream_payloads(&stream_id(), ReadOptions::all())
                .try_collect()
                .await
                .unwrap();
            assert_eq!(
                read.iter().map(|p| p.stream_version).collect::<Vec<_>>(),
                [1, 2],
                "the inner store's payload read, not a mapped event read"
            );
        });
    });
    let read = capture.span("factum.read_stream");
    assert_eq!(read["stream"], "\"traced-1\"");
    assert_eq!(read["payloads"], "true");
    assert_eq!(read["events"], "2");
}
