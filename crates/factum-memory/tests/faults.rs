//! What each injected fault does, one at a time: a failure before an
//! operation leaves no trace, a failure after a write leaves the write
//! done (an ambiguous outcome that an idempotent retry settles), and
//! latencies are drawn from their range.

use std::error::Error as _;
use std::time::Duration;

use factum_core::testing::{assert_contiguous_versions, assert_event_types};
use factum_core::{
    CheckpointStore, Error, EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions,
    StreamId,
};
use factum_memory::{Faults, InjectedFault, MemoryStore};

fn stream() -> StreamId {
    StreamId::new("faulty-1").expect("a valid stream id")
}

fn paid() -> EventData {
    EventData::json("Paid", br#"{"cents":100}"#.to_vec()).with_idempotency_key("payment-1")
}

/// The injected fault behind `error`, which must be a transient
/// [`Error::Unavailable`] of the memory backend.
fn injected(error: &Error) -> InjectedFault {
    assert!(
        matches!(
            error,
            Error::Unavailable {
                backend: "memory",
                ..
            }
        ),
        "an injected fault reads as a lost connection: {error:?}"
    );
    assert!(error.is_transient(), "{error}");
    *error
        .source()
        .and_then(|s| s.downcast_ref::<InjectedFault>())
        .unwrap_or_else(|| panic!("not an injected fault: {error}"))
}

#[tokio::test]
async fn a_failure_before_an_operation_leaves_no_trace() {
    let store = MemoryStore::with_faults(Faults::default().with_failure_probability(1.0));
    let error = store
        .append(&stream(), ExpectedVersion::NoStream, vec![paid()])
        .await
        .expect_err("every operation fails");
    assert_eq!(injected(&error), InjectedFault::Before);
    assert_eq!(
        error.to_string(),
        "memory backend unavailable while appending to stream faulty-1: \
         injected fault: connection lost before the operation reached the store"
    );
    let read = store.head_position().await.expect_err("reads fail too");
    assert_eq!(injected(&read), InjectedFault::Before);

    // Half the appends fail: exactly the others are stored.
    let store = MemoryStore::with_faults(Faults::default().with_failure_probability(0.5));
    let mut written = Vec::new();
    for n in 0..40 {
        let key = format!("payment-{n}");
        let event = EventData::json("Paid", b"{}".to_vec()).with_idempotency_key(&key);
        match store
            .append(&stream(), ExpectedVersion::Any, vec![event])
            .await
        {
            Ok(_) => written.push(key),
            Err(e) => assert_eq!(injected(&e), InjectedFault::Before),
        }
    }
    assert!(
        (5..35).contains(&written.len()),
        "{} of 40 written",
        written.len()
    );
    let stored = loop {
        if let Ok(events) = store.read_stream(&stream(), ReadOptions::all()).await {
            break events;
        }
    };
    let keys: Vec<_> = stored
        .iter()
        .filter_map(|e| e.idempotency_key.clone())
        .collect();
    assert_eq!(keys, written);
    assert_contiguous_versions(&stored, 1);
}

#[tokio::test]
async fn reads_do_not_fail_after() {
    let store =
        MemoryStore::with_faults(Faults::default().with_failure_after_write_probability(1.0));
    assert_eq!(store.head_position().await.expect("a read"), None);
}

#[tokio::test]
async fn a_failure_after_a_write_leaves_it_stored_and_a_retry_finds_it() {
    let store =
        MemoryStore::with_faults(Faults::default().with_failure_after_write_probability(1.0));
    let error = store
        .append(&stream(), ExpectedVersion::NoStream, vec![paid()])
        .await
        .expect_err("the answer is lost");
    assert_eq!(injected(&error), InjectedFault::AfterWrite);
    assert!(
        error
            .to_string()
            .ends_with("injected fault: connection lost after the write was done, its answer lost"),
        "{error}"
    );

    // Reads do not fail after: the event is there, once.
    let stored = store
        .read_stream(&stream(), ReadOptions::all())
        .await
        .expect("read");
    assert_event_types(&stored, &["Paid"]);

    // The writer cannot know; its retry, with the same key and expectation,
    // is a duplicate, whose answer is lost too but which writes nothing.
    let retry = store
        .append(&stream(), ExpectedVersion::NoStream, vec![paid()])
        .await;
    assert_eq!(
        injected(&retry.expect_err("lost again")),
        InjectedFault::AfterWrite
    );
    let stored = store
        .read_stream(&stream(), ReadOptions::all())
        .await
        .expect("read");
    assert_event_types(&stored, &["Paid"]);
    assert_contiguous_versions(&stored, 1);

    let checkpoint = store.save_checkpoint("p", stored[0].position).await;
    assert_eq!(
        injected(&checkpoint.expect_err("lost")),
        InjectedFault::AfterWrite
    );
    assert_eq!(
        store.load_checkpoint("p").await.expect("read"),
        Some(stored[0].position),
        "the checkpoint is saved"
    );
}

#[tokio::test]
async fn a_conflicting_append_reports_its_conflict_not_a_lost_answer() {
    let store =
        MemoryStore::with_faults(Faults::default().with_failure_after_write_probability(1.0));
    let _ = store
        .append(&stream(), ExpectedVersion::NoStream, vec![paid()])
        .await;
    let stale = store
        .append(
            &stream(),
            ExpectedVersion::NoStream,
            vec![EventData::json("Paid", b"{}".to_vec())],
        )
        .await
        .expect_err("a conflict");
    assert!(stale.is_version_conflict(), "{stale}");
}

#[tokio::test(start_paused = true)]
async fn latencies_are_drawn_from_their_range() {
    let (shortest, longest) = (Duration::from_millis(10), Duration::from_millis(20));
    let faults = Faults::default().with_latency_range(shortest..=longest);
    assert_eq!(faults.latency(), shortest..=longest);
    let store = MemoryStore::with_faults(faults);
    let mut waited = Vec::new();
    for _ in 0..50 {
        let start = tokio::time::Instant::now();
        store.head_position().await.expect("no failures");
        waited.push(start.elapsed());
    }
    for latency in &waited {
        assert!(
            (shortest..=longest).contains(latency),
            "waited {latency:?}, outside {shortest:?}..={longest:?}"
        );
    }
    // The paused clock counts whole milliseconds.
    waited.sort();
    waited.dedup();
    assert!(waited.len() >= 5, "latencies vary: {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_fixed_latency_is_a_range_of_one() {
    let faults = Faults::default().with_latency(Duration::from_millis(7));
    assert_eq!(
        faults.latency(),
        Duration::from_millis(7)..=Duration::from_millis(7)
    );
    let backwards = Faults::default().with_latency_range(Duration::from_millis(5)..=Duration::ZERO);
    assert_eq!(
        backwards.latency(),
        Duration::from_millis(5)..=Duration::from_millis(5)
    );
    let store = MemoryStore::with_faults(faults);
    let start = tokio::time::Instant::now();
    store.head_position().await.expect("no failures");
    assert_eq!(start.elapsed(), Duration::from_millis(7));
}

#[test]
fn probabilities_are_clamped() {
    let faults = Faults::default()
        .with_failure_probability(1.5)
        .with_failure_after_write_probability(-0.5);
    assert_eq!(faults.failure_probability(), 1.0);
    assert_eq!(faults.failure_after_write_probability(), 0.0);
}
