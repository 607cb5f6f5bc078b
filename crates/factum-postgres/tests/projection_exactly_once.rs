//! Exactly-once projections: runners aborted at random moments and their
//! connections killed, over and over while writers append, leave a read
//! model exactly equal to a fold of every event; handler failures are
//! retried, then stop the runner with the checkpoint before the failure;
//! rebuilds while writers append end exact; lag reports checkpoint and head.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::{TotalsProjection, actual, deposit, expected, named_store};
use factum_core::{BoxError, ProjectionError, RecordedEvent, RetryPolicy};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresProjectionRunner, PostgresStore, TransactionalProjection};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

const STREAMS: u64 = 6;

/// Appends `count` events over the streams, with amounts 1..=count.
async fn write(store: PostgresStore, count: u64) {
    for i in 1..=count {
        deposit(&store, &format!("acct-{}", i % STREAMS), i as i64).await;
    }
}

/// Catches up with a fresh runner and checks the read model against the
/// fold of the feed, including that every event was handled once.
async fn assert_exact(store: &PostgresStore, admin: &PgPool) {
    let mut runner =
        PostgresProjectionRunner::new(store.clone(), TotalsProjection::new(store, "final"));
    runner.catch_up().await.unwrap();
    let lag = runner.lag().await.unwrap();
    assert!(lag.caught_up(), "{lag:?}");
    let (want_totals, want_positions) = expected(store).await;
    let (got_totals, got_positions) = actual(admin, store).await;
    assert_eq!(
        got_positions, want_positions,
        "an event was skipped or handled twice"
    );
    assert_eq!(got_totals, want_totals);
    assert_eq!(lag.checkpoint, want_positions.last().copied());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runners_killed_at_random_moments_leave_an_exact_read_model() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let admin = store.pool().clone();
    TotalsProjection::create_tables(&admin, &store).await;
    let app = format!("exo-{}", schema.schema());
    let runner_store = named_store(schema.url(), schema.schema(), &app).await;
    let writer = tokio::spawn(write(store.clone(), 600));

    // Printed, so that a failing run can be replayed with fastrand::seed.
    let seed = fastrand::u64(..);
    fastrand::seed(seed);
    eprintln!("random seed {seed}");
    let mut terminated = 0;
    let mut progress = Vec::new();
    for round in 0..60u32 {
        let projection = TotalsProjection::new(&runner_store, &format!("round-{round}"));
        let mut runner = PostgresProjectionRunner::new(runner_store.clone(), projection)
            .with_batch_size(1 + fastrand::usize(..12))
            .with_retry(RetryPolicy {
                max_attempts: 3,
                first_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
            });
        let task = tokio::spawn(async move { runner.run().await });
        // A random moment: inside a page's transaction, its commit, the
        // feed read, or the wait for new events.
        tokio::time::sleep(Duration::from_micros(fastrand::u64(..40_000))).await;
        if fastrand::bool() {
            let killed: i64 = sqlx::query_scalar(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = $1",
            )
            .bind(&app)
            .fetch_one(&admin)
            .await
            .unwrap();
            terminated += killed;
            tokio::time::sleep(Duration::from_micros(fastrand::u64(..5_000))).await;
        }
        task.abort();
        // Aborted, or stopped by a killed connection: either way not done.
        if let Ok(Ok(never)) = task.await {
            match never {}
        }
        let (_, handled) = actual(&admin, &store).await;
        progress.push(handled.len());
    }
    writer.await.unwrap();
    // No aborted runner left a session open in a transaction (which would
    // hold back the feed, and make a pool's next user write into a
    // transaction that never commits).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
        )
        .bind(&app)
        .fetch_one(&admin)
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} sessions of aborted runners stay idle in a transaction"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(terminated > 0, "no connection was ever killed");
    assert!(
        progress.windows(2).any(|w| w[0] < w[1]),
        "the runners made no progress between kills: {progress:?}"
    );
    assert_exact(&store, &admin).await;
}

/// Totals that fail after writing an event of `fail_on_stream`, while
/// `failures` is above zero (counting down).
struct Flaky {
    inner: TotalsProjection,
    fail_on_stream: String,
    failures: Arc<AtomicU32>,
    tries: Arc<AtomicU32>,
}

#[async_trait]
impl TransactionalProjection<PgConnection> for Flaky {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        // Write first, so that a failure must roll these writes back.
        self.inner.handle(tx, event).await?;
        if event.stream_id.as_str() == self.fail_on_stream {
            self.tries.fetch_add(1, Ordering::Relaxed);
            if self.failures.load(Ordering::Relaxed) > 0 {
                self.failures.fetch_sub(1, Ordering::Relaxed);
                return Err("read model unavailable".into());
            }
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_is_retried_then_stops_the_runner_before_the_event() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let admin = store.pool().clone();
    TotalsProjection::create_tables(&admin, &store).await;
    for (stream, amount) in [("a-1", 1), ("a-2", 2), ("bad-1", 3), ("a-3", 4)] {
        deposit(&store, stream, amount).await;
    }
    let retry = RetryPolicy {
        max_attempts: 3,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    };
    let failures = Arc::new(AtomicU32::new(u32::MAX));
    let tries = Arc::new(AtomicU32::new(0));
    let flaky = Flaky {
        inner: TotalsProjection::new(&store, "flaky"),
        fail_on_stream: "bad-1".into(),
        failures: failures.clone(),
        tries: tries.clone(),
    };
    let mut runner = PostgresProjectionRunner::new(store.clone(), flaky)
        .with_batch_size(2)
        .with_retry(retry);
    match runner.catch_up().await {
        Err(ProjectionError::Handler {
            stream, attempts, ..
        }) => {
            assert_eq!(stream, "bad-1");
            assert_eq!(attempts, 3);
        }
        other => panic!("expected a handler error, got {other:?}"),
    }
    assert_eq!(tries.load(Ordering::Relaxed), 3);
    // The first page (a-1, a-2) committed; the failing page rolled back
    // entirely, including the handler's writes before it failed.
    let (totals, handled) = actual(&admin, &store).await;
    let (_, positions) = expected(&store).await;
    assert_eq!(handled, positions[..2]);
    assert!(!totals.contains_key("bad-1"));
    assert_eq!(runner.checkpoint().await.unwrap(), Some(positions[1]));

    // Two more failures, within the three attempts: the runner gets through.
    failures.store(2, Ordering::Relaxed);
    assert_eq!(runner.catch_up().await.unwrap(), 2);
    assert_exact(&store, &admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_while_writers_append_ends_exact() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let admin = store.pool().clone();
    TotalsProjection::create_tables(&admin, &store).await;
    write(store.clone(), 200).await;
    let mut runner =
        PostgresProjectionRunner::new(store.clone(), TotalsProjection::new(&store, "first"))
            .with_batch_size(25);
    assert_eq!(runner.catch_up().await.unwrap(), 200);
    // Damage the read model: only a real reset repairs it.
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE {}.totals SET total = total + 1000",
        store.schema().quoted()
    )))
    .execute(&admin)
    .await
    .unwrap();

    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (store, writing) = (store.clone(), writing.clone());
        tokio::spawn(async move {
            write(store, 300).await;
            writing.store(false, Ordering::Relaxed);
        })
    };
    // A second runner follows live meanwhile; the rebuild moves the
    // checkpoint under it, and it must start over rather than double.
    let mut live =
        PostgresProjectionRunner::new(store.clone(), TotalsProjection::new(&store, "live"))
            .with_batch_size(10)
            .with_poll_interval(Duration::from_millis(20));
    let live = tokio::spawn(async move { live.run().await });
    // The live runner may win some pages of the replay: the count is not
    // the rebuild's alone. The damaged totals show whether it reset.
    runner.rebuild().await.unwrap();
    writer.await.unwrap();
    assert!(!writing.load(Ordering::Relaxed));
    live.abort();
    let _ = live.await;
    assert_exact(&store, &admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_shows_checkpoint_and_head() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let admin = store.pool().clone();
    TotalsProjection::create_tables(&admin, &store).await;
    let mut runner =
        PostgresProjectionRunner::new(store.clone(), TotalsProjection::new(&store, "lag"));
    let lag = runner.lag().await.unwrap();
    assert_eq!((lag.checkpoint, lag.head), (None, None));
    assert!(lag.caught_up());
    write(store.clone(), 5).await;
    let (_, positions) = expected(&store).await;
    let lag = runner.lag().await.unwrap();
    assert_eq!(
        (lag.checkpoint, lag.head),
        (None, positions.last().copied())
    );
    assert!(!lag.caught_up());
    runner.catch_up().await.unwrap();
    let lag = runner.lag().await.unwrap();
    assert_eq!(lag.checkpoint, lag.head);
    assert!(lag.caught_up());
}
