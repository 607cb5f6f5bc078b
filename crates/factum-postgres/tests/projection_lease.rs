//! The lease's fence: a runner whose lease was taken over commits nothing
//! until it holds the lease again, and a second runner stands by while the
//! first holds it.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{TotalsProjection, deposit};
use factum_postgres::testing::TestSchema;
use factum_postgres::{Lease, PostgresProjectionRunner, PostgresStore};
use sqlx::{AssertSqlSafe, PgPool};

const BOUND: Duration = Duration::from_secs(20);

/// Waits (bounded) until `sql` returns true.
async fn await_true(pool: &PgPool, sql: &str) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let done: bool = sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
            .fetch_one(pool)
            .await
            .unwrap();
        if done {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never true: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn leased(store: &PostgresStore, holder: &str) -> PostgresProjectionRunner<TotalsProjection> {
    PostgresProjectionRunner::new(store.clone(), TotalsProjection::new(store, holder))
        .with_poll_interval(Duration::from_millis(50))
        .with_lease(Lease::new(Duration::from_secs(1)).with_holder(holder))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_whose_lease_was_taken_commits_nothing_until_it_has_it_again() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let pool = store.pool().clone();
    TotalsProjection::create_tables(&pool, &store).await;
    let s = store.schema().quoted();
    let mut runner = leased(&store, "a");
    let task = tokio::spawn(async move { runner.run().await });
    await_true(
        &pool,
        &format!("SELECT EXISTS (SELECT 1 FROM {s}.projection_leases WHERE holder = 'a')"),
    )
    .await;

    // Another holder takes the lease for two seconds, with a new token.
    let (stolen_token, thief_expires): (i64, DateTime<Utc>) =
        sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE {s}.projection_leases SET holder = 'thief', token = token + 1, \
         expires_at = clock_timestamp() + interval '2 seconds' RETURNING token, expires_at"
        )))
        .fetch_one(&pool)
        .await
        .unwrap();
    deposit(&store, "acct-1", 5).await;
    await_true(&pool, &format!("SELECT count(*) = 1 FROM {s}.handled")).await;

    // Handled by the runner, but only once the thief's lease had expired and
    // the runner had taken it back with a newer token.
    let (worker, handled_at): (String, DateTime<Utc>) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT worker, handled_at FROM {s}.handled"
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(worker, "a");
    assert!(
        handled_at >= thief_expires,
        "committed at {handled_at}, while the thief held the lease until {thief_expires}"
    );
    let (holder, token): (String, i64) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT holder, token FROM {s}.projection_leases"
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(holder, "a");
    assert!(token > stolen_token);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_runner_stands_by_and_takes_over_after_the_ttl() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let pool = store.pool().clone();
    TotalsProjection::create_tables(&pool, &store).await;
    let s = store.schema().quoted();
    let mut first = leased(&store, "first");
    let first_task = tokio::spawn(async move { first.run().await });
    await_true(
        &pool,
        &format!("SELECT EXISTS (SELECT 1 FROM {s}.projection_leases WHERE holder = 'first')"),
    )
    .await;
    let mut second = leased(&store, "second");
    let second_task = tokio::spawn(async move { second.run().await });
    for i in 0..20 {
        deposit(&store, "acct-1", i).await;
    }
    await_true(&pool, &format!("SELECT count(*) = 20 FROM {s}.handled")).await;
    let by_second: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {s}.handled WHERE worker = 'second'"
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        by_second, 0,
        "the standby worked while the holder was alive"
    );

    // The holder dies without releasing: the standby takes over once the
    // lease expires.
    first_task.abort();
    let _ = first_task.await;
    for i in 0..20 {
        deposit(&store, "acct-2", i).await;
    }
    await_true(&pool, &format!("SELECT count(*) = 40 FROM {s}.handled")).await;
    await_true(
        &pool,
        &format!("SELECT count(*) = 20 FROM {s}.handled WHERE worker = 'second'"),
    )
    .await;
    second_task.abort();
}
