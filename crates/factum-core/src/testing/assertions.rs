//! Assertions on lists of stored events: their types, their versions, their
//! positions. Each panics with a message naming the offending event.

use std::collections::HashMap;

use crate::RecordedEvent;

/// `stream@version (type)`, how a message names an event.
fn describe(event: &RecordedEvent) -> String {
    format!(
        "{}@{} ({})",
        event.stream_id, event.stream_version, event.event_type
    )
}

/// Asserts that `events` have exactly these event types, in this order.
///
/// # Panics
///
/// When the number of events differs or an event has another type: the
/// message names the first differing index and lists both sequences.
///
/// ```
/// use factum_core::RecordedEvent;
/// use factum_core::testing::assert_event_types;
///
/// let events = vec![RecordedEvent::builder().with_event_type("Opened").build()];
/// assert_event_types(&events, &["Opened"]);
/// ```
#[track_caller]
pub fn assert_event_types(events: &[RecordedEvent], expected: &[&str]) {
    let found: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    if found == expected {
        return;
    }
    let index = found
        .iter()
        .zip(expected)
        .position(|(f, e)| f != e)
        .unwrap_or(found.len().min(expected.len()));
    let what = match (found.get(index), expected.get(index)) {
        (Some(f), Some(e)) => format!("event {index} is {f:?}, expected {e:?}"),
        (Some(f), None) => format!("event {index} ({f:?}) is one more than expected"),
        (None, e) => format!(
            "event {index}{} is missing",
            e.map(|e| format!(" ({e:?})")).unwrap_or_default()
        ),
    };
    panic!(
        "event types differ: {what}\n  expected ({} events): {expected:?}\n     found ({} events): {found:?}",
        expected.len(),
        found.len()
    );
}

/// Asserts that each stream's events in `events` have the versions `first`,
/// `first + 1`, … in the order they come, with no gap or repetition.
/// Events of several streams may be interleaved, as in the global feed;
/// each stream is counted on its own, and each starts at `first` (1 for a
/// whole stream or the whole feed).
///
/// # Panics
///
/// At the first event out of line: the message names its index, stream and
/// version, and the version expected.
///
/// ```
/// use factum_core::RecordedEvent;
/// use factum_core::testing::assert_contiguous_versions;
///
/// let event = |stream: &str, version| {
///     RecordedEvent::builder().with_stream_id(stream).with_stream_version(version).build()
/// };
/// let feed = vec![event("cart-1", 1), event("cart-2", 1), event("cart-1", 2)];
/// assert_contiguous_versions(&feed, 1);
/// ```
#[track_caller]
pub fn assert_contiguous_versions(events: &[RecordedEvent], first: u64) {
    let mut next: HashMap<&str, (u64, usize)> = HashMap::new();
    for (index, event) in events.iter().enumerate() {
        let stream = event.stream_id.as_str();
        let (expected, previous) = match next.get(stream) {
            Some(&(version, previous)) => (version, Some(previous)),
            None => (first, None),
        };
        if event.stream_version != expected {
            let after = previous.map_or_else(
                || format!("the first of stream {stream}"),
                |p| format!("after event {p}, {}", describe(&events[p])),
            );
            panic!(
                "versions of stream {stream} are not contiguous from {first}: event {index}, {}, \
                 has version {}, expected {expected} ({after})",
                describe(event),
                event.stream_version
            );
        }
        next.insert(stream, (expected + 1, index));
    }
}

/// Asserts that the positions of `events` strictly increase, as in every
/// read of the global feed (and of one stream, forwards).
///
/// # Panics
///
/// At the first event whose position is not after the one before it: the
/// message names both events and their positions.
///
/// ```
/// use factum_core::{GlobalPosition, RecordedEvent};
/// use factum_core::testing::assert_increasing_positions;
///
/// let at = |sequence| RecordedEvent::builder().with_position(GlobalPosition::from_parts(0, sequence)).build();
/// assert_increasing_positions(&[at(1), at(4), at(9)]);
/// ```
#[track_caller]
pub fn assert_increasing_positions(events: &[RecordedEvent]) {
    for index in 1..events.len() {
        let (before, after) = (&events[index - 1], &events[index]);
        if after.position <= before.position {
            panic!(
                "positions do not increase: event {index}, {}, is at position {}, not after event {}, {}, at position {}",
                describe(after),
                after.position,
                index - 1,
                describe(before),
                before.position
            );
        }
    }
}
