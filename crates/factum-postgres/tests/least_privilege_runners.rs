//! Both projection runners under a role that may only read and append
//! (`roles/read_and_append.sql`, see `least_privilege.rs` for the store's
//! other operations and the refusals): core's `ProjectionRunner` and the
//! leased `PostgresProjectionRunner` with a transactional read model.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::restricted::{Restricted, count};
use common::{TotalsProjection, actual, deposit, expected};
use factum_core::{
    BoxError, EventReader, FailurePolicy, Projection, ProjectionRunner, RecordedEvent, RetryPolicy,
};
use factum_postgres::{Lease, PostgresProjectionRunner};
use sqlx::AssertSqlSafe;

/// How long a test waits for something that should happen at once.
const BOUND: Duration = Duration::from_secs(20);

/// Sums amounts in memory (core's at-least-once runner).
struct Sum(i64);

#[async_trait]
impl Projection for Sum {
    fn name(&self) -> &str {
        "sum"
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.0 += common::amount(event);
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), BoxError> {
        self.0 = 0;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_projection_runner_works_under_the_role() {
    let r = Restricted::new().await;
    for n in 1..=5 {
        deposit(&r.app, "acct-a", n).await;
    }
    let mut runner = ProjectionRunner::new(r.app.clone(), Sum(0)).with_batch_size(2);
    assert_eq!(runner.catch_up().await.unwrap(), 5);
    assert_eq!(runner.projection().0, 15);
    assert_eq!(
        runner.checkpoint().await.unwrap(),
        r.app.head_position().await.unwrap()
    );
    assert_eq!(runner.rebuild().await.unwrap(), 5);
    assert_eq!(runner.projection().0, 15);
    assert!(runner.lag().await.unwrap().caught_up());
}

/// Fails on amount 3 until `fixed`.
struct Picky {
    sum: i64,
    fixed: bool,
}

#[async_trait]
impl Projection for Picky {
    fn name(&self) -> &str {
        "picky"
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        let amount = common::amount(event);
        if amount == 3 && !self.fixed {
            return Err("three is not bookable".into());
        }
        self.sum += amount;
        Ok(())
    }
}

/// Parking, listing, a failed replay (which updates the parked row) and a
/// successful one (which deletes it) work under the role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parking_and_replaying_work_under_the_role() {
    let r = Restricted::new().await;
    for n in 1..=5 {
        deposit(&r.app, "acct-p", n).await;
    }
    let quick = RetryPolicy {
        max_attempts: 2,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
    };
    let picky = Picky {
        sum: 0,
        fixed: false,
    };
    let mut runner = ProjectionRunner::new(r.app.clone(), picky)
        .with_retry(quick)
        .with_failure_policy(FailurePolicy::Park);
    assert_eq!(runner.catch_up().await.unwrap(), 4);
    assert_eq!(runner.parked().await.unwrap().len(), 1);
    assert_eq!(runner.replay_parked().await.unwrap().still_parked.len(), 1);
    runner.projection_mut().fixed = true;
    assert_eq!(runner.replay_parked().await.unwrap().replayed, 1);
    assert_eq!(runner.projection().sum, 15);
    assert_eq!(runner.parked().await.unwrap(), vec![]);
}

/// The exactly-once runner with a lease, under the role: pages commit
/// through the fence, the lease is renewed while it runs and released after
/// a catch-up, and a rebuild clears and replays the read model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leased_transactional_runner_works_under_the_role() {
    let r = Restricted::new().await;
    let (s, role) = (r.s(), r.role.name().to_owned());
    TotalsProjection::create_tables(r.owner.pool(), &r.owner).await;
    r.as_owner(format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.totals, {s}.handled TO \"{role}\""
    ))
    .await;
    for n in 1..=7 {
        deposit(&r.app, &format!("acct-{}", n % 3), n).await;
    }
    let leased = |holder: &str, ttl: Duration| {
        PostgresProjectionRunner::new(r.app.clone(), TotalsProjection::new(&r.app, holder))
            .with_batch_size(3)
            .with_poll_interval(Duration::from_millis(50))
            .with_lease(Lease::new(ttl).with_holder(holder))
    };
    // The lease's token and expiry, and whether it has expired.
    let lease = || async {
        let sql = format!(
            "SELECT token, expires_at, expires_at <= clock_timestamp() \
             FROM {s}.projection_leases WHERE projection = 'totals'"
        );
        let row: (i64, DateTime<Utc>, bool) = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(r.owner.pool())
            .await
            .unwrap();
        row
    };

    // A long time to live: only its release can let the lease expire now.
    let mut runner = leased("catching-up", Duration::from_secs(60));
    assert_eq!(runner.catch_up().await.unwrap(), 7);
    assert!(lease().await.2, "the catch-up kept its lease");
    assert_eq!(
        actual(r.owner.pool(), &r.owner).await,
        expected(&r.owner).await
    );

    // Running, it renews its lease: same token, later expiry. (A short time
    // to live, so that the rebuild below need not wait long for a lease its
    // aborted holder never released.)
    let mut running = leased("running", Duration::from_secs(1));
    let task = tokio::spawn(async move { running.run().await });
    deposit(&r.app, "acct-9", 100).await;
    let deadline = tokio::time::Instant::now() + BOUND;
    let handled = format!("SELECT count(*) FROM {s}.handled");
    while count(r.owner.pool(), handled.clone()).await < 8 {
        assert!(tokio::time::Instant::now() < deadline, "never handled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (token, first_expiry, _) = lease().await;
    loop {
        let (now_token, expiry, _) = lease().await;
        assert_eq!(now_token, token, "the runner lost its lease");
        if expiry > first_expiry {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never renewed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    let _ = task.await;

    let mut rebuilder = leased("rebuilding", Duration::from_secs(1));
    assert_eq!(rebuilder.rebuild().await.unwrap(), 8);
    assert_eq!(
        actual(r.owner.pool(), &r.owner).await,
        expected(&r.owner).await
    );
}
