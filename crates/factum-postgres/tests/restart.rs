//! Server restarts: the PostgreSQL server shut down fast and then
//! immediately, and started again, while writers append, a subscriber
//! follows the feed and both projection runners work. Appends fail with
//! `Error::Unavailable` and succeed on retry; the subscriber, the runners
//! and the LISTEN wake-ups resume by themselves; at the end the subscriber
//! saw every event once, in order, and both read models equal a fold of the
//! events (the exactly-once runner: each event handled once).

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::{Totals, TotalsProjection, actual, amount, expected};
use factum_core::{
    BoxError, Error, EventAppender, EventData, ExpectedVersion, GlobalPosition, Projection,
    ProjectionRunner, RecordedEvent, StreamId, Subscribe, SubscriptionOptions,
};
use factum_postgres::testing::{OwnServer, Shutdown};
use factum_postgres::{Lease, PostgresProjectionRunner, PostgresStore};
use futures::StreamExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::Mutex;

const STREAMS: u64 = 5;

/// A store on `server` whose pool gives up on a connection after 2 s, and
/// hands out its idle connections without pinging them first: after a
/// restart, an append on a connection from before it fails (as it does
/// with any pool when the append was under way), so every restart meets
/// appends that must be retried.
async fn store_on(server: &OwnServer) -> PostgresStore {
    let options = PgConnectOptions::from_str(server.url()).unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options)
        .await
        .unwrap();
    PostgresStore::new(pool)
}

/// Appends deposits 1, 2, ... until `stop` is set, each with an idempotency
/// key so that a retry after an unknown outcome cannot store it twice;
/// retries every `Unavailable` failure (and counts them), fails on any
/// other. Returns how many it appended.
async fn write(
    store: PostgresStore,
    writer: u64,
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
) -> usize {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let stream = StreamId::new(format!("acct-{}", i % STREAMS)).unwrap();
        let event = EventData::json("Deposited", format!(r#"{{"amount":{i}}}"#).into_bytes())
            .with_idempotency_key(format!("w{writer}-{i}"));
        loop {
            match store
                .append(&stream, ExpectedVersion::Any, vec![event.clone()])
                .await
            {
                Ok(_) => break,
                Err(e @ Error::Unavailable { .. }) => {
                    assert!(e.is_transient());
                    failures.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("an append failed with a non-transient error: {e}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    i as usize
}

/// An in-memory read model for the at-least-once runner: handling an event
/// again changes nothing.
#[derive(Default)]
struct SeenTotals {
    seen: BTreeSet<GlobalPosition>,
    totals: Totals,
}

#[derive(Clone)]
struct MemoryTotals(Arc<Mutex<SeenTotals>>);

#[async_trait]
impl Projection for MemoryTotals {
    fn name(&self) -> &str {
        "memory-totals"
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        let mut model = self.0.lock().await;
        if model.seen.insert(event.position) {
            let entry = model.totals.entry(event.stream_id.to_string()).or_default();
            entry.0 += 1;
            entry.1 += amount(event);
        }
        Ok(())
    }
}

/// Waits (up to a minute) until `done` holds.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Whether the store's LISTEN session is connected.
async fn listening(store: &PostgresStore) -> bool {
    let count: Result<i64, _> =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(store.feed_listener_name())
            .fetch_one(store.pool())
            .await;
    count.is_ok_and(|n| n > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarts_lose_nothing_and_everything_resumes() {
    let server = OwnServer::start().await.unwrap();
    let store = store_on(&server).await;
    store.migrate().await.unwrap();
    TotalsProjection::create_tables(store.pool(), &store).await;

    // The subscriber: every event once, in order; errors in between are
    // the outage's, and it carries on by itself.
    let subscriber = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut seen: Vec<GlobalPosition> = Vec::new();
            let mut errors = 0u64;
            let mut feed = store.subscribe(SubscriptionOptions::from_start());
            while let Some(item) = feed.next().await {
                match item {
                    Ok(event) => {
                        if event.event_type == "Stop" {
                            break;
                        }
                        if let Some(last) = seen.last() {
                            assert!(event.position > *last, "the feed went back or repeated");
                        }
                        seen.push(event.position);
                    }
                    Err(e) => {
                        assert!(e.is_transient(), "the subscriber met a lasting error: {e}");
                        errors += 1;
                    }
                }
            }
            (seen, errors)
        })
    };

    // Both runners, run() until aborted: a transient error must not end them.
    let memory = MemoryTotals(Arc::default());
    let at_least_once = {
        let mut runner = ProjectionRunner::new(store.clone(), memory.clone())
            .with_poll_interval(Duration::from_millis(50));
        tokio::spawn(async move { runner.run().await })
    };
    let exactly_once = {
        let projection = TotalsProjection::new(&store, "restart");
        let mut runner = PostgresProjectionRunner::new(store.clone(), projection)
            .with_batch_size(20)
            .with_poll_interval(Duration::from_millis(50))
            .with_lease(Lease::new(Duration::from_secs(2)));
        tokio::spawn(async move { runner.run().await })
    };

    // The writers append until both restarts are over.
    let failures = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| tokio::spawn(write(store.clone(), w, stop.clone(), failures.clone())))
        .collect();

    eventually("the listener is connected", || listening(&store)).await;
    for how in [Shutdown::Fast, Shutdown::Immediate] {
        tokio::time::sleep(Duration::from_millis(400)).await;
        server.restart(how).await.unwrap();
        assert!(!at_least_once.is_finished(), "the runner ended on {how:?}");
        assert!(!exactly_once.is_finished(), "the runner ended on {how:?}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let mut appended = 0;
    for writer in writers {
        appended += writer.await.unwrap();
    }
    eventually("the listener is connected again", || listening(&store)).await;

    // Everything written reaches the subscriber and both read models; the
    // subscriber stops at the last event, `Stop`.
    let stop = StreamId::new("control-stop").unwrap();
    let event = EventData::json("Stop", br#"{"amount":0}"#.to_vec());
    store
        .append(&stop, ExpectedVersion::Any, vec![event])
        .await
        .unwrap();
    let (want_totals, want_positions) = expected(&store).await;
    assert_eq!(
        want_positions.len(),
        appended + 1,
        "an append was lost or doubled"
    );
    let head = *want_positions.last().unwrap();
    eventually("the exactly-once runner caught up", || async {
        actual(store.pool(), &store).await.1.last() == Some(&head)
    })
    .await;
    eventually("the at-least-once runner caught up", || async {
        memory.0.lock().await.seen.last() == Some(&head)
    })
    .await;
    let (seen, _errors) = subscriber.await.unwrap();

    assert_eq!(
        seen,
        want_positions[..want_positions.len() - 1],
        "the subscriber skipped or repeated events"
    );
    let (got_totals, got_positions) = actual(store.pool(), &store).await;
    assert_eq!(
        got_positions, want_positions,
        "an event was handled twice or never"
    );
    assert_eq!(got_totals, want_totals);
    assert_eq!(memory.0.lock().await.totals, want_totals);
    assert!(
        failures.load(Ordering::Relaxed) > 0,
        "no append met the restarts: the test did not test them"
    );

    for runner in [at_least_once, exactly_once] {
        assert!(!runner.is_finished(), "a runner ended");
        runner.abort();
        let ended: Result<Result<Infallible, _>, _> = runner.await;
        assert!(ended.is_err_and(|e| e.is_cancelled()));
    }
}
