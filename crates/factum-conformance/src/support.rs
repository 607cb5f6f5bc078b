//! Small helpers shared by the conformance tests.

use factum_core::{
    EventData, EventStore, ExpectedVersion, GlobalPosition, PayloadFormat, RecordedEvent, StreamId,
};

/// A stream id from a literal known to be valid.
pub(super) fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("test stream ids are valid")
}

/// A JSON event of type `kind` whose payload records `n`.
pub(super) fn event(kind: &str, n: u64) -> EventData {
    EventData::json(
        kind,
        format!(r#"{{"n":{n},"note":"conformance"}}"#).into_bytes(),
    )
}

/// `count` events numbered from `first`.
pub(super) fn events(count: u64, first: u64) -> Vec<EventData> {
    (first..first + count)
        .map(|n| event("Counted", n))
        .collect()
}

/// Whether a stored payload equals a written one. JSON is compared as a
/// value: PostgreSQL's JSONB hands back the same value with other bytes.
pub(super) fn same_payload(recorded: &RecordedEvent, written: &EventData) -> bool {
    if recorded.format != written.format {
        return false;
    }
    match recorded.format {
        PayloadFormat::Json => {
            let a: Option<serde_json::Value> = serde_json::from_slice(&recorded.payload).ok();
            let b: Option<serde_json::Value> = serde_json::from_slice(&written.payload).ok();
            a.is_some() && a == b
        }
        PayloadFormat::MessagePack => recorded.payload == written.payload,
    }
}

/// Appends and expects success.
pub(super) async fn append_ok(
    store: &dyn EventStore,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: Vec<EventData>,
) -> factum_core::AppendResult {
    store
        .append(stream, expected, events)
        .await
        .unwrap_or_else(|e| panic!("append to {stream} expecting {expected} failed: {e}"))
}

/// Every event of the global feed, paging by `page`.
pub(super) async fn whole_feed(store: &dyn EventStore, page: usize) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    let mut after = GlobalPosition::START;
    loop {
        let batch = store
            .read_all(after, page)
            .await
            .expect("global feed reads");
        assert!(batch.len() <= page, "read_all returned more than its limit");
        let Some(last) = batch.last() else {
            return all;
        };
        after = last.position;
        all.extend(batch);
    }
}

/// The versions of a stream's events, read whole.
pub(super) async fn versions(store: &dyn EventStore, stream: &StreamId) -> Vec<u64> {
    store
        .read_stream(stream, factum_core::ReadOptions::all())
        .await
        .expect("stream reads")
        .iter()
        .map(|e| e.stream_version)
        .collect()
}

/// Asserts that `positions` strictly increase.
pub(super) fn assert_increasing(positions: &[GlobalPosition], context: &str) {
    for pair in positions.windows(2) {
        assert!(
            pair[0] < pair[1],
            "{context}: positions {} then {} do not increase",
            pair[0],
            pair[1]
        );
    }
}
