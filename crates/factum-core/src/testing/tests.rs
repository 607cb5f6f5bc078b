//! The builder's defaults and setters; each assertion passes on a good list
//! and fails on a bad one, naming the offending event.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{assert_contiguous_versions, assert_event_types, assert_increasing_positions};
use crate::{GlobalPosition, RecordedEvent};

fn event(stream: &str, version: u64, event_type: &str) -> RecordedEvent {
    RecordedEvent::builder()
        .with_stream_id(stream)
        .with_stream_version(version)
        .with_event_type(event_type)
        .build()
}

fn at(event: RecordedEvent, sequence: u64) -> RecordedEvent {
    RecordedEvent {
        position: GlobalPosition::from_parts(0, sequence),
        ..event
    }
}

/// The message `check` panics with.
fn panic_message(check: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(check)).expect_err("the assertion should fail");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .expect("a text message")
}

#[test]
fn event_types_name_the_first_difference() {
    let events = [event("a-1", 1, "Opened"), event("a-1", 2, "Closed")];
    assert_event_types(&events, &["Opened", "Closed"]);

    let other = panic_message(|| assert_event_types(&events, &["Opened", "Paid"]));
    assert!(
        other.starts_with("event types differ: event 1 is \"Closed\", expected \"Paid\""),
        "{other}"
    );
    assert!(other.contains(r#"["Opened", "Paid"]"#), "{other}");

    let missing = panic_message(|| assert_event_types(&events, &["Opened", "Closed", "Paid"]));
    assert!(
        missing.starts_with("event types differ: event 2 (\"Paid\") is missing"),
        "{missing}"
    );
    let extra = panic_message(|| assert_event_types(&events, &["Opened"]));
    assert!(
        extra.starts_with("event types differ: event 1 (\"Closed\") is one more than expected"),
        "{extra}"
    );
}

#[test]
fn versions_are_counted_per_stream_from_the_first_given() {
    let feed = [
        event("a-1", 3, "E"),
        event("b-1", 3, "E"),
        event("a-1", 4, "E"),
    ];
    assert_contiguous_versions(&feed, 3);
    assert_contiguous_versions(&[], 1);

    let from_one = panic_message(|| assert_contiguous_versions(&feed, 1));
    assert_eq!(
        from_one,
        "versions of stream a-1 are not contiguous from 1: event 0, a-1@3 (E), has version 3, \
         expected 1 (the first of stream a-1)"
    );

    let gap = [
        event("a-1", 1, "E"),
        event("b-1", 1, "Other"),
        event("a-1", 3, "E"),
    ];
    let message = panic_message(|| assert_contiguous_versions(&gap, 1));
    assert_eq!(
        message,
        "versions of stream a-1 are not contiguous from 1: event 2, a-1@3 (E), has version 3, \
         expected 2 (after event 0, a-1@1 (E))"
    );

    let repeated = [event("a-1", 1, "E"), event("a-1", 1, "E")];
    let message = panic_message(|| assert_contiguous_versions(&repeated, 1));
    assert!(
        message.contains("event 1, a-1@1 (E), has version 1, expected 2"),
        "{message}"
    );
}

#[test]
fn positions_must_strictly_increase() {
    let feed = [
        at(event("a-1", 1, "E"), 1),
        at(event("b-1", 1, "E"), 5),
        at(event("a-1", 2, "E"), 5),
    ];
    assert_increasing_positions(&feed[..2]);
    assert_increasing_positions(&[]);

    let message = panic_message(|| assert_increasing_positions(&feed));
    assert_eq!(
        message,
        "positions do not increase: event 2, a-1@2 (E), is at position 0:5, not after event 1, \
         b-1@1 (E), at position 0:5"
    );
}

#[test]
fn the_builder_fills_in_what_a_test_leaves_out() {
    let before = chrono::Utc::now();
    let event = RecordedEvent::builder().build();
    assert_eq!(event.stream_id.as_str(), "test-1");
    assert_eq!(event.stream_version, 1);
    assert_eq!(event.position, GlobalPosition::from_parts(0, 1));
    assert_eq!(event.event_type, "TestEvent");
    assert_eq!(event.schema_version, 1);
    assert_eq!(event.format, crate::PayloadFormat::Json);
    assert_eq!(event.payload, b"{}");
    assert!(event.metadata.is_empty());
    assert_eq!(event.idempotency_key, None);
    assert_eq!(event.event_id.get_version_num(), 7);
    assert!(event.recorded_at >= before);
    assert_ne!(
        RecordedEvent::builder().build().event_id,
        event.event_id,
        "each event gets its own id"
    );

    let set = RecordedEvent::builder()
        .with_stream_version(4)
        .with_position(GlobalPosition::from_parts(9, 2))
        .with_json_payload(serde_json::json!({ "amount": 5 }))
        .with_idempotency_key("k-1")
        .with_schema_version(2)
        .build();
    assert_eq!(set.position, GlobalPosition::from_parts(9, 2));
    assert_eq!(set.payload, br#"{"amount":5}"#);
    assert_eq!(set.idempotency_key.as_deref(), Some("k-1"));
    assert_eq!(set.schema_version, 2);
}

#[test]
fn an_invalid_stream_id_is_refused_with_its_reason() {
    let message = panic_message(|| {
        RecordedEvent::builder().with_stream_id("");
    });
    assert_eq!(message, "stream id is empty");
}
