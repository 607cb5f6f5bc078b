//! Leases survive stalls, not only crashes: this test binary runs itself
//! again as a lease holder, stops it with SIGSTOP in the middle of a page
//! (its transaction open, holding the lease row locked) and keeps it
//! stopped. Meanwhile the server ends the stalled page's session once it
//! has sat idle for the lease's time to live (so it holds the feed back no
//! longer), and another runner takes the lease over and handles everything.
//! Resumed with SIGCONT, the stalled holder never wins the lease back, and
//! every event is handled exactly once.
//!
//! `harness = false`: this file has its own `main`, which prints the usual
//! test lines.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::process::{Child, Command};
use std::time::Duration;

use async_trait::async_trait;
use common::{TotalsProjection, actual, deposit, expected, named_store, spawn_ready};
use factum_conformance::harness::{runtime, single_test};
use factum_core::{BoxError, EventReader, RecordedEvent};
use factum_postgres::testing::TestSchema;
use factum_postgres::{
    Lease, PostgresOptions, PostgresProjectionRunner, PostgresStore, SchemaName,
    TransactionalProjection,
};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

const TEST_NAME: &str = "a_stopped_lease_holder_loses_its_lease_and_never_wins_it_back";
/// Set in the holder's environment: the server URL and the schema.
const HOLDER_URL: &str = "FACTUM_PG_STALL_URL";
const HOLDER_SCHEMA: &str = "FACTUM_PG_STALL_SCHEMA";
/// The holder's name and its sessions' application name.
const STALLED: &str = "stalled-holder";
const RESCUER: &str = "rescuer";
const TTL: Duration = Duration::from_secs(1);
const EVENTS: u64 = 300;
/// The correctness bound on each wait.
const BOUND: Duration = Duration::from_secs(60);

fn main() {
    if std::env::var(HOLDER_URL).is_ok() {
        runtime().block_on(holder());
        return;
    }
    single_test(TEST_NAME, || runtime().block_on(parent()));
}

/// The totals, handled slowly, so that the holder is nearly always in the
/// middle of a page.
struct Slow(TotalsProjection);

#[async_trait]
impl TransactionalProjection<PgConnection> for Slow {
    fn name(&self) -> &str {
        self.0.name()
    }

    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        self.0.handle(tx, event).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(())
    }

    async fn reset(&mut self, tx: &mut PgConnection) -> Result<(), BoxError> {
        self.0.reset(tx).await
    }
}

/// The holder: runs the leased projection, slowly, until killed.
async fn holder() {
    let url = std::env::var(HOLDER_URL).unwrap();
    let schema = SchemaName::new(std::env::var(HOLDER_SCHEMA).unwrap()).unwrap();
    let store = named_store(&url, &schema, STALLED).await;
    println!("ready");
    let mut runner =
        PostgresProjectionRunner::new(store.clone(), Slow(TotalsProjection::new(&store, STALLED)))
            .with_batch_size(25)
            .with_poll_interval(Duration::from_millis(50))
            .with_lease(Lease::new(TTL).with_holder(STALLED));
    let Err(e) = runner.run().await;
    eprintln!("the stalled holder's runner ended: {e}");
}

/// Stops or resumes `child`.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(signal)
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} failed");
}

/// The lease's holder and token.
async fn lease(pool: &PgPool, store: &PostgresStore) -> Option<(String, i64)> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT holder, token FROM {}.projection_leases WHERE projection = 'totals'",
        store.schema().quoted()
    )))
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// Whether the stalled holder has a session sitting in an open transaction.
async fn holder_mid_page(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        "SELECT count(*) > 0 FROM pg_stat_activity \
         WHERE application_name = $1 AND state = 'idle in transaction'",
    )
    .bind(STALLED)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until `check` holds, at most [`BOUND`].
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not in time: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kills the holder when the test ends, however it ends.
struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn parent() {
    let (store, schema) =
        TestSchema::store_with(PostgresOptions::default().with_feed_wait(Duration::ZERO))
            .await
            .unwrap();
    let pool = store.pool().clone();
    TotalsProjection::create_tables(&pool, &store).await;
    for i in 0..EVENTS {
        deposit(&store, &format!("acct-{}", i % 5), i as i64 + 1).await;
    }

    let child = spawn_ready(&[
        (HOLDER_URL, schema.url()),
        (HOLDER_SCHEMA, schema.schema().as_str()),
    ]);
    let holder = Holder(child);
    eventually("the holder takes the lease", || async {
        lease(&pool, &store)
            .await
            .is_some_and(|(h, _)| h == STALLED)
    })
    .await;

    // Stop it in the middle of a page: its transaction open, the lease row
    // locked, its read-model writes (and a transaction id) in flight.
    loop {
        eventually("the holder is in a page", || holder_mid_page(&pool)).await;
        signal(&holder.0, "-STOP");
        if holder_mid_page(&pool).await {
            break;
        }
        signal(&holder.0, "-CONT");
    }

    // The stalled page holds the feed back only until the server ends its
    // session (idle in its transaction for the lease's time to live), not
    // for as long as the holder stays stopped: a read that waits for held
    // events gets the new one while the holder is still stopped.
    let head = store.head_position().await.unwrap().unwrap();
    deposit(&store, "acct-late", 1).await;
    let waiting = PostgresStore::with_options(
        pool.clone(),
        PostgresOptions::default()
            .with_schema(schema.schema().clone())
            .with_feed_wait(BOUND),
    );
    let late = waiting.read_all(head, 10).await.unwrap();
    assert_eq!(
        late.len(),
        1,
        "the stalled holder's transaction held the feed back"
    );

    // Another runner takes over while the holder is still stopped: the
    // server ends the stalled session, the lease expires, and the rescuer
    // handles everything.
    let rescuer_store = named_store(schema.url(), schema.schema(), RESCUER).await;
    let mut rescuer = PostgresProjectionRunner::new(
        rescuer_store.clone(),
        TotalsProjection::new(&rescuer_store, RESCUER),
    )
    .with_poll_interval(Duration::from_millis(50))
    .with_lease(Lease::new(TTL).with_holder(RESCUER));
    let rescuing = tokio::spawn(async move { rescuer.run().await });
    eventually("the rescuer takes the lease", || async {
        lease(&pool, &store)
            .await
            .is_some_and(|(h, _)| h == RESCUER)
    })
    .await;
    let (_, token) = lease(&pool, &store).await.unwrap();
    assert!(
        !holder_mid_page(&pool).await,
        "the stalled page's session is still open"
    );
    let head = store.head_position().await.unwrap();
    eventually("the rescuer catches up", || async {
        actual(&pool, &store).await.1.last().copied() == head
    })
    .await;

    // Resumed, the stalled holder finds its page gone and the lease taken:
    // it never wins it back. Three lease lifetimes give it every chance.
    signal(&holder.0, "-CONT");
    tokio::time::sleep(3 * TTL).await;
    deposit(&store, "acct-after", 2).await;
    let head = store.head_position().await.unwrap();
    eventually("the rescuer handles what came after", || async {
        actual(&pool, &store).await.1.last().copied() == head
    })
    .await;
    assert_eq!(
        lease(&pool, &store).await,
        Some((RESCUER.to_owned(), token)),
        "the stalled holder took the lease back"
    );

    let (want_totals, want_positions) = expected(&store).await;
    let (got_totals, got_positions) = actual(&pool, &store).await;
    assert_eq!(
        got_positions, want_positions,
        "an event was handled twice or never"
    );
    assert_eq!(got_totals, want_totals);
    assert!(!rescuing.is_finished(), "the rescuer's runner ended");
    rescuing.abort();
    drop(holder);
    drop(rescuer_store);
    drop(store);
    pool.close().await;
    drop(schema);
}
