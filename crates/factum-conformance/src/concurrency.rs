//! Concurrent writers: optimistic concurrency under real races.

use std::collections::HashSet;
use std::sync::Arc;

use super::support::{event, stream, whole_feed};
use factum_core::{EventOutcome, EventStore, ExpectedVersion, ReadOptions, StreamId};

const TASKS: u64 = 16;
const APPENDS_PER_TASK: u64 = 10;

/// Runs `TASKS` copies of `work` at once, each in its own tokio task, so
/// that on a multi-threaded runtime they truly run in parallel. A panic in a
/// task is re-raised here.
pub(super) async fn race<F, Fut>(store: &Arc<dyn EventStore>, work: F) -> Vec<Fut::Output>
where
    F: Fn(Arc<dyn EventStore>, u64) -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| tokio::spawn(work(store.clone(), task)))
        .collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(output) => outputs.push(output),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a racing task was cancelled: {e}"),
        }
    }
    outputs
}

/// 16 tasks race on one stream, each appending with the exact version it
/// last read and retrying on conflict: every event lands once, versions are
/// contiguous, and the losers saw `VersionConflict`.
pub async fn racing_exact_writers_lose_nothing(store: &Arc<dyn EventStore>) {
    let s = stream("race-exact");
    let conflicts = Arc::new(std::sync::atomic::AtomicU64::new(0));
    race(store, |store, task| {
        let (s, conflicts) = (s.clone(), conflicts.clone());
        async move {
            for i in 0..APPENDS_PER_TASK {
                loop {
                    let current = store.stream_version(&s).await.expect("version");
                    let expected =
                        current.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                    match store
                        .append(&s, expected, vec![event("Raced", task * 1000 + i)])
                        .await
                    {
                        Ok(result) => {
                            assert_eq!(result.current_version, Some(current.unwrap_or(0) + 1));
                            break;
                        }
                        Err(e) if e.is_version_conflict() => {
                            conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            tokio::task::yield_now().await;
                        }
                        Err(e) => panic!("unexpected error while racing: {e}"),
                    }
                }
            }
        }
    })
    .await;
    assert_all_landed(&**store, &s).await;
}

/// 16 tasks append to one stream with `Any` at once: all succeed and every
/// event is stored.
pub async fn racing_any_writers_all_succeed(store: &Arc<dyn EventStore>) {
    let s = stream("race-any");
    race(store, |store, task| {
        let s = s.clone();
        async move {
            for i in 0..APPENDS_PER_TASK {
                store
                    .append(
                        &s,
                        ExpectedVersion::Any,
                        vec![event("Raced", task * 1000 + i)],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("an Any append failed under concurrency: {e}"));
            }
        }
    })
    .await;
    assert_all_landed(&**store, &s).await;
}

async fn assert_all_landed(store: &dyn EventStore, s: &StreamId) {
    let read = store
        .read_stream(s, ReadOptions::all())
        .await
        .expect("read");
    let versions: Vec<u64> = read.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, (1..=TASKS * APPENDS_PER_TASK).collect::<Vec<_>>());
    let payloads: HashSet<Vec<u8>> = read.iter().map(|e| e.payload.clone()).collect();
    assert_eq!(
        payloads.len() as u64,
        TASKS * APPENDS_PER_TASK,
        "an event was doubled"
    );
    let feed = whole_feed(store, 50).await;
    assert_eq!(feed.len() as u64, TASKS * APPENDS_PER_TASK);
}

/// The same event (same idempotency key) appended by 16 tasks at once is
/// written once; every other task learns `Duplicate` of that one.
pub async fn racing_duplicate_injections_write_once(store: &Arc<dyn EventStore>) {
    let s = stream("race-idem");
    let outcomes = race(store, |store, _| {
        let s = s.clone();
        async move {
            let result = store
                .append(
                    &s,
                    ExpectedVersion::Any,
                    vec![event("Once", 1).with_idempotency_key("race-once")],
                )
                .await
                .unwrap_or_else(|e| {
                    panic!("a concurrent retry failed instead of reporting a duplicate: {e}")
                });
            result.events[0].clone()
        }
    })
    .await;
    let written: Vec<_> = outcomes.iter().filter(|o| !o.is_duplicate()).collect();
    assert_eq!(
        written.len(),
        1,
        "exactly one task must write: {outcomes:?}"
    );
    let position = written[0].position();
    for outcome in &outcomes {
        assert_eq!(outcome.position(), position);
        if let EventOutcome::Duplicate { stream_version, .. } = outcome {
            assert_eq!(*stream_version, 1);
        }
    }
    assert_eq!(store.stream_version(&s).await.expect("version"), Some(1));
}
