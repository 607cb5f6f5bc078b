//! Scale-out over processes: this test binary runs itself again as three
//! worker processes, each running the same leased projection. Events are
//! appended, the worker holding the lease is killed mid-way, and the
//! survivors take over: every event is handled exactly once (the read model
//! keeps each handled position under a primary key) and all are handled
//! within a bounded time.
//!
//! `harness = false`: this file has its own `main`, which prints the usual
//! test lines.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::collections::HashMap;
use std::process::Child;
use std::time::Duration;

use common::{TotalsProjection, actual, deposit, expected, spawn_ready};
use factum_conformance::harness::{runtime, single_test};
use factum_postgres::testing::TestSchema;
use factum_postgres::{
    Lease, PostgresOptions, PostgresProjectionRunner, PostgresStore, SchemaName,
};
use sqlx::{AssertSqlSafe, PgPool};

const TEST_NAME: &str = "leased_workers_in_processes_handle_each_event_once";
/// Set in a worker's environment: its name, the server URL and the schema.
const WORKER: &str = "FACTUM_PG_WORKER";
const WORKER_URL: &str = "FACTUM_PG_WORKER_URL";
const WORKER_SCHEMA: &str = "FACTUM_PG_WORKER_SCHEMA";
const WORKERS: usize = 3;
/// The lease's time to live: how long the survivors may wait for a dead
/// holder's lease.
const TTL: Duration = Duration::from_millis(1500);
/// Events appended before and after the kill.
const HALF: u64 = 200;
/// The correctness bound on handling everything.
const BOUND: Duration = Duration::from_secs(60);

fn main() {
    if let Ok(name) = std::env::var(WORKER) {
        runtime().block_on(worker(&name));
        return;
    }
    single_test(TEST_NAME, || runtime().block_on(parent()));
}

/// A worker: runs the leased projection until killed, restarting the
/// runner after an error.
async fn worker(name: &str) {
    let url = std::env::var(WORKER_URL).unwrap();
    let schema = SchemaName::new(std::env::var(WORKER_SCHEMA).unwrap()).unwrap();
    let store = PostgresStore::connect_with(&url, PostgresOptions::default().with_schema(schema))
        .await
        .unwrap();
    println!("ready");
    loop {
        let projection = TotalsProjection::new(&store, name);
        let mut runner = PostgresProjectionRunner::new(store.clone(), projection)
            .with_batch_size(7)
            .with_poll_interval(Duration::from_millis(100))
            .with_lease(Lease::new(TTL).with_holder(name));
        match runner.run().await {
            Err(e) => eprintln!("worker {name}: {e}; restarting"),
            Ok(never) => match never {},
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Kills the remaining workers when the test ends, however it ends.
struct Workers(HashMap<String, Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in self.0.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn handled_count(pool: &PgPool, store: &PostgresStore) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {}.handled",
        store.schema().quoted()
    )))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits, at most until `deadline`, until the read model has handled
/// `count` events.
async fn await_handled(
    pool: &PgPool,
    store: &PostgresStore,
    count: i64,
    deadline: tokio::time::Instant,
) {
    loop {
        let handled = handled_count(pool, store).await;
        if handled >= count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {handled} of {count} events were handled in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn parent() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let pool = store.pool().clone();
    TotalsProjection::create_tables(&pool, &store).await;

    let mut workers = Workers(HashMap::new());
    for i in 0..WORKERS {
        let name = format!("worker-{i}");
        let child = spawn_ready(&[
            (WORKER, &name),
            (WORKER_URL, schema.url()),
            (WORKER_SCHEMA, schema.schema().as_str()),
        ]);
        workers.0.insert(name, child);
    }

    for i in 0..HALF {
        deposit(&store, &format!("acct-{}", i % 5), i as i64 + 1).await;
    }
    let deadline = tokio::time::Instant::now() + BOUND;
    await_handled(&pool, &store, (HALF / 4) as i64, deadline).await;

    // Kill whoever holds the lease now, in the middle of the work.
    let holder: String = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT holder FROM {}.projection_leases WHERE projection = 'totals'",
        store.schema().quoted()
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut victim = workers
        .0
        .remove(&holder)
        .expect("the holder is one of the workers");
    victim.kill().unwrap();
    victim.wait().unwrap();

    for i in HALF..2 * HALF {
        deposit(&store, &format!("acct-{}", i % 5), i as i64 + 1).await;
    }
    await_handled(&pool, &store, (2 * HALF) as i64, deadline).await;

    let (want_totals, want_positions) = expected(&store).await;
    let (got_totals, got_positions) = actual(&pool, &store).await;
    assert_eq!(want_positions.len() as u64, 2 * HALF);
    assert_eq!(
        got_positions, want_positions,
        "an event was skipped or handled twice"
    );
    assert_eq!(got_totals, want_totals);
    // The survivors took over: at least the events appended after the
    // victim died are theirs (a page the victim was committing when killed
    // may still have committed).
    let survivors: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {}.handled WHERE worker <> $1",
        store.schema().quoted()
    )))
    .bind(&holder)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        survivors >= HALF as i64,
        "the survivors handled only {survivors} events"
    );
    // Every remaining worker is still running (none crashed).
    for (name, child) in &mut workers.0 {
        assert!(child.try_wait().unwrap().is_none(), "worker {name} died");
    }
    drop(workers);
    drop(store);
    pool.close().await;
    drop(schema);
}
