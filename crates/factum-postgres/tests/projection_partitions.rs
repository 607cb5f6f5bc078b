//! A projection split into partitions, each with its own leased runner:
//! together they handle every event exactly once, each only its own
//! streams; a rebuild by one partition makes all of them start over, and
//! the read model still ends exact.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::time::Duration;

use common::{TotalsProjection, actual, deposit, expected};
use factum_core::{EventReader, GlobalPosition};
use factum_postgres::testing::TestSchema;
use factum_postgres::{Lease, Partition, PostgresProjectionRunner, PostgresStore};
use sqlx::{AssertSqlSafe, PgPool};
use tokio::task::JoinHandle;

const PARTITIONS: u32 = 3;
const BOUND: Duration = Duration::from_secs(30);

fn start(store: &PostgresStore, index: u32) -> JoinHandle<()> {
    let name = format!("p{index}");
    let mut runner =
        PostgresProjectionRunner::new(store.clone(), TotalsProjection::new(store, &name))
            .with_batch_size(5)
            .with_poll_interval(Duration::from_millis(50))
            .with_lease(Lease::new(Duration::from_secs(2)).with_holder(name))
            .with_partition(Partition::new(index, PARTITIONS).unwrap());
    tokio::spawn(async move {
        let _ = runner.run().await;
    })
}

/// Waits (bounded) until every event is handled.
async fn await_all(pool: &PgPool, store: &PostgresStore) {
    let (_, positions) = expected(store).await;
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let (_, handled) = actual(pool, store).await;
        if handled.len() >= positions.len() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {} handled",
            handled.len(),
            positions.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each handled event was handled by the runner of its stream's partition.
async fn assert_partitioned(pool: &PgPool, store: &PostgresStore) {
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT commit_part, seq_part, worker FROM {}.handled",
        store.schema().quoted()
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let events = store.read_all(GlobalPosition::START, 10_000).await.unwrap();
    for (commit, seq, worker) in rows {
        let position = GlobalPosition::from_parts(commit as u64, seq as u64);
        let event = events.iter().find(|e| e.position == position).unwrap();
        let owner = Partition::of(event.stream_id.as_str(), PARTITIONS);
        assert_eq!(
            worker,
            format!("p{owner}"),
            "{} handled by the wrong partition",
            event.stream_id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partitions_share_a_projection_and_rebuild_together() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let pool = store.pool().clone();
    TotalsProjection::create_tables(&pool, &store).await;
    let runners: Vec<_> = (0..PARTITIONS).map(|i| start(&store, i)).collect();
    for i in 0..150 {
        deposit(&store, &format!("acct-{}", i % 11), i + 1).await;
    }
    await_all(&pool, &store).await;
    let (want, positions) = expected(&store).await;
    let (got, handled) = actual(&pool, &store).await;
    assert_eq!(handled, positions, "an event was skipped or handled twice");
    assert_eq!(got, want);
    assert_partitioned(&pool, &store).await;

    // Partition 0 rebuilds (damaged totals show whether the reset ran)
    // while writers append and the other partitions keep running.
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE {}.totals SET total = total + 1000",
        store.schema().quoted()
    )))
    .execute(&pool)
    .await
    .unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 150..250 {
                deposit(&store, &format!("acct-{}", i % 11), i + 1).await;
            }
        })
    };
    let mut rebuilder =
        PostgresProjectionRunner::new(store.clone(), TotalsProjection::new(&store, "p0"))
            .with_batch_size(5)
            .with_lease(Lease::new(Duration::from_secs(2)).with_holder("p0-rebuild"))
            .with_partition(Partition::new(0, PARTITIONS).unwrap());
    runners[0].abort();
    rebuilder.rebuild().await.unwrap();
    let runners: Vec<_> = runners
        .into_iter()
        .skip(1)
        .chain([start(&store, 0)])
        .collect();
    writer.await.unwrap();
    await_all(&pool, &store).await;
    let (want, positions) = expected(&store).await;
    let (got, handled) = actual(&pool, &store).await;
    assert_eq!(handled, positions, "an event was skipped or handled twice");
    assert_eq!(got, want);
    for runner in runners {
        runner.abort();
    }
}
