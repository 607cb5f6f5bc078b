//! Projections: checkpoints, restarts, handler failures, rebuilds and live
//! following.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::support::{append_ok, events, stream};
use factum_core::{
    BoxError, EventFilter, EventStore, ExpectedVersion, GlobalPosition, Projection,
    ProjectionError, ProjectionRunner, RecordedEvent, RetryPolicy,
};

/// Counts events per stream into a shared map; can be told to fail.
#[derive(Clone, Default)]
pub(crate) struct Counter {
    name: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    seen: Arc<Mutex<Vec<GlobalPosition>>>,
    /// Fail on the event at this position this many more times.
    pub(crate) fail_at: Arc<Mutex<Option<(GlobalPosition, u32)>>>,
    live: Option<tokio::sync::mpsc::UnboundedSender<GlobalPosition>>,
}

impl Counter {
    pub(crate) fn named(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    pub(crate) fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().expect("lock").clone()
    }

    pub(crate) fn seen(&self) -> Vec<GlobalPosition> {
        self.seen.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Projection for Counter {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().categories(["proj"])
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        if let Some((position, left)) = self.fail_at.lock().expect("lock").as_mut()
            && *position == event.position
            && *left > 0
        {
            *left -= 1;
            return Err(format!("read model unavailable at {position}").into());
        }
        *self
            .counts
            .lock()
            .expect("lock")
            .entry(event.stream_id.to_string())
            .or_default() += 1;
        self.seen.lock().expect("lock").push(event.position);
        if let Some(live) = &self.live {
            let _ = live.send(event.position);
        }
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), BoxError> {
        self.counts.lock().expect("lock").clear();
        self.seen.lock().expect("lock").clear();
        Ok(())
    }
}

pub(crate) fn quick_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
    }
}

/// A runner saves its checkpoint; a new runner (a restart) resumes after
/// it, handling only the new events; filtered-out events still advance it.
pub async fn projection_resumes_from_checkpoint(store: &dyn EventStore) {
    append_ok(
        store,
        &stream("proj-a"),
        ExpectedVersion::NoStream,
        events(5, 1),
    )
    .await;
    append_ok(
        store,
        &stream("other-a"),
        ExpectedVersion::NoStream,
        events(3, 1),
    )
    .await;
    let counter = Counter::named("resume");
    let mut runner = ProjectionRunner::new(store, counter.clone()).with_batch_size(2);
    assert_eq!(runner.catch_up().await.expect("catch up"), 5);
    let lag = runner.lag().await.expect("lag");
    assert!(lag.caught_up() && lag.checkpoint == lag.head, "{lag:?}");

    append_ok(
        store,
        &stream("proj-b"),
        ExpectedVersion::NoStream,
        events(4, 1),
    )
    .await;
    let restarted = Counter::named("resume");
    let mut runner = ProjectionRunner::new(store, restarted.clone()).with_batch_size(3);
    assert!(!runner.lag().await.expect("lag").caught_up());
    assert_eq!(runner.catch_up().await.expect("catch up"), 4);
    assert_eq!(
        restarted.counts(),
        BTreeMap::from([("proj-b".to_owned(), 4)]),
        "only new events after a restart"
    );
    assert_eq!(counter.counts(), BTreeMap::from([("proj-a".to_owned(), 5)]));
}

/// A handler that fails briefly is retried; one that keeps failing stops
/// the runner with the event's position, and the checkpoint covers the
/// events before it, even those of its own page.
pub async fn projection_failure_stops_at_the_failing_event(store: &dyn EventStore) {
    let written = append_ok(
        store,
        &stream("proj-f"),
        ExpectedVersion::NoStream,
        events(6, 1),
    )
    .await;
    let positions: Vec<_> = written.written_positions().collect();
    let flaky = Counter::named("flaky");
    *flaky.fail_at.lock().expect("lock") = Some((positions[2], 2));
    let mut runner = ProjectionRunner::new(store, flaky.clone())
        .with_retry(quick_retry(3))
        .with_batch_size(2);
    assert_eq!(
        runner.catch_up().await.expect("two failures then success"),
        6
    );
    assert_eq!(flaky.seen(), positions);

    let broken = Counter::named("broken");
    *broken.fail_at.lock().expect("lock") = Some((positions[3], u32::MAX));
    let mut runner = ProjectionRunner::new(store, broken.clone())
        .with_retry(quick_retry(3))
        .with_batch_size(2);
    match runner.catch_up().await {
        Err(ProjectionError::Handler {
            projection,
            position,
            stream,
            attempts,
            ..
        }) => {
            assert_eq!(
                (projection.as_str(), position, stream.as_str(), attempts),
                ("broken", positions[3], "proj-f", 3)
            );
        }
        other => panic!("expected the handler error, got {other:?}"),
    }
    assert_eq!(
        broken.seen(),
        positions[..3].to_vec(),
        "nothing after the failing event"
    );
    assert_eq!(
        runner.checkpoint().await.expect("checkpoint"),
        Some(positions[2]),
        "the checkpoint covers the events before the failing one, not the event"
    );
}

/// A rebuild while writers keep appending ends with the read model equal
/// to a fold of every event.
pub async fn projection_rebuild_under_load_is_exact(store: &Arc<dyn EventStore>) {
    append_ok(
        &**store,
        &stream("proj-r0"),
        ExpectedVersion::NoStream,
        events(20, 1),
    )
    .await;
    let counter = Counter::named("rebuild");
    let mut runner = ProjectionRunner::new(store.clone(), counter.clone()).with_batch_size(8);
    runner.catch_up().await.expect("catch up");
    let writers: Vec<_> = (1..=3)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    store
                        .append(
                            &stream(&format!("proj-r{w}")),
                            ExpectedVersion::Any,
                            events(1, i),
                        )
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    runner.rebuild().await.expect("rebuild");
    for writer in writers {
        writer.await.expect("writer");
    }
    runner.catch_up().await.expect("final catch up");
    let expected: BTreeMap<String, u64> = (0..=3).map(|w| (format!("proj-r{w}"), 20)).collect();
    assert_eq!(counter.counts(), expected);
    let seen = counter.seen();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "each event once, in order"
    );
}

/// A running projection follows new events live, from its checkpoint.
pub async fn projection_runs_live(store: &Arc<dyn EventStore>) {
    append_ok(
        &**store,
        &stream("proj-l"),
        ExpectedVersion::NoStream,
        events(3, 1),
    )
    .await;
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let counter = Counter {
        live: Some(sender),
        ..Counter::named("live")
    };
    let mut runner = ProjectionRunner::new(store.clone(), counter.clone())
        .with_poll_interval(Duration::from_millis(20));
    let running = tokio::spawn(async move { runner.run().await });
    for expected in 1..=3u64 {
        let got = tokio::time::timeout(Duration::from_secs(30), receiver.recv())
            .await
            .expect("history arrives");
        assert!(got.is_some(), "event {expected} of the history");
    }
    let later = append_ok(
        &**store,
        &stream("proj-l"),
        ExpectedVersion::Exact(3),
        events(2, 4),
    )
    .await;
    for position in later.written_positions() {
        let got = tokio::time::timeout(Duration::from_secs(30), receiver.recv())
            .await
            .expect("live event arrives");
        assert_eq!(got, Some(position));
    }
    running.abort();
    assert_eq!(counter.counts().get("proj-l"), Some(&5));
}
