//! Poison events: a handler that keeps failing on one event parks it (with
//! [`FailurePolicy::Park`]) and goes on; parked events are listed and
//! replayed after a fix; a rebuild of a projection without `reset` is
//! refused; and the store's parked-event rows behave.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::projection::{Counter, quick_retry};
use super::support::{append_ok, events, stream};
use factum_core::{
    BoxError, EventStore, ExpectedVersion, FailurePolicy, GlobalPosition, ParkedEvent, Projection,
    ProjectionRunner, RecordedEvent,
};

/// With [`FailurePolicy::Park`], an event whose handler keeps failing is
/// parked with its error and the runner handles every other event; the
/// checkpoint reaches the end. A replay while the handler still fails keeps
/// it parked (one more attempt, the new error); after the fix a replay
/// handles it and it is parked no more.
pub async fn poison_event_is_parked_and_replayed(store: &dyn EventStore) {
    let written = append_ok(
        store,
        &stream("proj-p"),
        ExpectedVersion::NoStream,
        events(6, 1),
    )
    .await;
    let positions: Vec<_> = written.written_positions().collect();
    let poisoned = Counter::named("poisoned");
    *poisoned.fail_at.lock().expect("lock") = Some((positions[3], u32::MAX));
    let mut runner = ProjectionRunner::new(store, poisoned.clone())
        .with_retry(quick_retry(3))
        .with_failure_policy(FailurePolicy::Park)
        .with_batch_size(4);
    assert_eq!(runner.catch_up().await.expect("parks and goes on"), 5);
    let mut expected_seen = positions.clone();
    expected_seen.remove(3);
    assert_eq!(
        poisoned.seen(),
        expected_seen,
        "every other event, in order"
    );
    assert_eq!(
        runner.checkpoint().await.expect("checkpoint"),
        positions.last().copied(),
        "the checkpoint moved past the parked event"
    );

    let parked = runner.parked().await.expect("parked events");
    assert_eq!(parked.len(), 1, "{parked:?}");
    let one = &parked[0];
    assert_eq!(
        (
            one.projection.as_str(),
            one.position,
            one.stream_id.as_str(),
            one.stream_version,
            one.event_type.as_str(),
            one.attempts,
        ),
        ("poisoned", positions[3], "proj-p", 4, "Counted", 3)
    );
    assert!(
        one.error.contains("read model unavailable"),
        "the handler's error is kept: {}",
        one.error
    );
    assert_eq!(
        store.parked_events("other").await.expect("parked"),
        vec![],
        "parked events belong to their projection"
    );

    let still = runner.replay_parked().await.expect("replay");
    assert_eq!(still.replayed, 0);
    assert_eq!(still.still_parked.len(), 1);
    let after_failed_replay = runner.parked().await.expect("parked events");
    assert_eq!(after_failed_replay.len(), 1);
    assert_eq!(after_failed_replay[0].attempts, 4, "a failed replay counts");

    *poisoned.fail_at.lock().expect("lock") = None;
    let fixed = runner.replay_parked().await.expect("replay");
    assert_eq!((fixed.replayed, fixed.still_parked.len()), (1, 0));
    assert_eq!(runner.parked().await.expect("parked events"), vec![]);
    assert_eq!(
        poisoned.seen().last(),
        Some(&positions[3]),
        "the parked event was handled last"
    );
    assert_eq!(poisoned.seen().len(), 6, "every event handled once");
}

/// Counts events; writes no `reset`.
struct NoReset {
    handled: u64,
}

#[async_trait]
impl Projection for NoReset {
    fn name(&self) -> &str {
        "no-reset"
    }

    async fn handle(&mut self, _event: &RecordedEvent) -> Result<(), BoxError> {
        self.handled += 1;
        Ok(())
    }
}

/// Rebuilding a projection that does not write `reset` is refused with a
/// typed error, and neither its checkpoint nor its read model moves: no
/// silent double count.
pub async fn rebuild_without_reset_is_refused(store: &dyn EventStore) {
    append_ok(
        store,
        &stream("proj-n"),
        ExpectedVersion::NoStream,
        events(3, 1),
    )
    .await;
    let mut runner = ProjectionRunner::new(store, NoReset { handled: 0 });
    let handled = runner.catch_up().await.expect("catch up");
    let checkpoint = runner.checkpoint().await.expect("checkpoint");
    let refused = runner.rebuild().await.expect_err("no reset, no rebuild");
    assert!(refused.is_reset_not_written(), "{refused:?}");
    assert!(
        refused.to_string().contains("no-reset") && refused.to_string().contains("`reset`"),
        "the error names the projection and what is missing: {refused}"
    );
    assert_eq!(
        runner.projection().handled,
        handled,
        "nothing handled twice"
    );
    assert_eq!(runner.checkpoint().await.expect("checkpoint"), checkpoint);
}

fn parked(name: &str, sequence: u64, error: &str, attempts: u32) -> ParkedEvent {
    ParkedEvent {
        projection: name.to_owned(),
        position: GlobalPosition::from_parts(0, sequence),
        stream_id: stream("proj-k"),
        stream_version: sequence,
        event_type: "Event".to_owned(),
        error: error.to_owned(),
        attempts,
        parked_at: DateTime::<Utc>::from_timestamp_micros(1_700_000_000_000_000 + sequence as i64)
            .expect("a valid time"),
    }
}

/// The store keeps parked events per projection, by position; parking the
/// same position again replaces its error and attempts; unparking says
/// whether there was one.
pub async fn parked_events_are_kept_per_projection(store: &dyn EventStore) {
    let (a2, a1, b1) = (
        parked("a", 2, "two", 3),
        parked("a", 1, "one", 5),
        parked("b", 1, "b", 1),
    );
    for p in [&a2, &a1, &b1] {
        store.park_event(p).await.expect("park");
    }
    assert_eq!(
        store.parked_events("a").await.expect("parked"),
        vec![a1.clone(), a2.clone()],
        "oldest first, whole"
    );
    let again = parked("a", 2, "still two", 4);
    store.park_event(&again).await.expect("park again");
    assert_eq!(
        store.parked_events("a").await.expect("parked"),
        vec![a1.clone(), again]
    );
    assert!(store.unpark_event("a", a1.position).await.expect("unpark"));
    assert!(!store.unpark_event("a", a1.position).await.expect("unpark"));
    assert_eq!(store.parked_events("a").await.expect("parked").len(), 1);
    assert_eq!(store.parked_events("b").await.expect("parked"), vec![b1]);
}
