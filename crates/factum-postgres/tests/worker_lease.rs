//! `PostgresStore::worker_lease`: one holder at a time, a fresh token per
//! term, a released term free at once, a dropped one (a crash) free only
//! once it expired, and a term taken over read as lost by its holder.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::time::Duration;

use factum_core::WorkerLease;
use factum_postgres::testing::TestSchema;
use factum_postgres::{Lease, PostgresStore, PostgresWorkerLease};
use sqlx::AssertSqlSafe;

const TTL: Duration = Duration::from_millis(600);

fn lease(store: &PostgresStore, holder: &str) -> PostgresWorkerLease {
    store.worker_lease("relay:EVENTS", Lease::new(TTL).with_holder(holder))
}

#[tokio::test]
async fn one_holder_at_a_time_and_a_new_token_per_term() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let (a, b) = (lease(&store, "a"), lease(&store, "b"));
    assert_eq!((a.name(), a.holder()), ("relay:EVENTS", "a"));
    let first = a
        .try_acquire()
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert!(
        b.try_acquire().await.unwrap().is_none(),
        "b must wait for a"
    );
    a.release(first).await.unwrap();
    let second = b
        .try_acquire()
        .await
        .unwrap()
        .expect("a released lease is free at once");
    assert!(
        a.try_acquire().await.unwrap().is_none(),
        "a must now wait for b"
    );
    assert!(second.token() > 1, "every term bumps the token");
    b.release(second).await.unwrap();
}

#[tokio::test]
async fn a_dropped_term_frees_the_lease_only_when_it_expires() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let (a, b) = (lease(&store, "a"), lease(&store, "b"));
    let term = a.acquire().await.unwrap();
    // Held well past its time to live: the renewal keeps it.
    tokio::time::sleep(TTL * 2).await;
    assert!(!term.is_lost());
    assert!(
        b.try_acquire().await.unwrap().is_none(),
        "a's renewed term still holds"
    );
    drop(term); // as a crash would: no release
    assert!(
        b.try_acquire().await.unwrap().is_none(),
        "not before it expires"
    );
    let taken = tokio::time::timeout(Duration::from_secs(20), b.acquire())
        .await
        .expect("b takes the lease once a's term expired")
        .unwrap();
    b.release(taken).await.unwrap();
}

#[tokio::test]
async fn a_term_taken_over_reads_as_lost() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let (a, b) = (lease(&store, "a"), lease(&store, "b"));
    let term = a.acquire().await.unwrap();
    // The server sees a's term as expired (a stalled process), and b takes it.
    let expire = format!(
        "UPDATE {}.projection_leases SET expires_at = clock_timestamp()",
        schema.schema().quoted()
    );
    sqlx::query(AssertSqlSafe(expire))
        .execute(store.pool())
        .await
        .unwrap();
    let taken = b
        .try_acquire()
        .await
        .unwrap()
        .expect("an expired lease is free");
    assert!(taken.token() > term.token());
    for _ in 0..200 {
        if term.is_lost() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(term.is_lost(), "a's next renewal finds its term over");
    b.release(taken).await.unwrap();
}
