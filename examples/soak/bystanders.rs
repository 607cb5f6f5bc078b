//! What else an application does in the store's database, on PostgreSQL:
//! transactions that write a table of their own before they append (so
//! they have a transaction id before their events), and a batch job whose
//! long transactions write only that table. The first must lose and
//! double no event; the second must not hold the feed back (the readers'
//! peak lag shows it).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use factum::postgres::PostgresStore;
use factum::{AppendResult, EventAppender, EventStore, StreamAppend};
use futures::future::BoxFuture;
use sqlx::{AssertSqlSafe, Connection};

/// How a writer appends.
pub(crate) type Append = Arc<
    dyn Fn(Vec<StreamAppend>) -> BoxFuture<'static, factum::Result<Vec<AppendResult>>>
        + Send
        + Sync,
>;

/// Appends with `append_many`.
pub(crate) fn plain(store: Arc<dyn EventStore>) -> Append {
    Arc::new(move |appends| {
        let store = store.clone();
        Box::pin(async move { store.append_many(appends).await })
    })
}

/// The audit table that bystanders write, beside the store's tables.
pub(crate) async fn create_table(store: &PostgresStore) -> Result<(), sqlx::Error> {
    let sql = format!(
        "CREATE TABLE {}.soak_audit (at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)",
        store.schema().quoted()
    );
    sqlx::query(AssertSqlSafe(sql))
        .execute(store.pool())
        .await?;
    Ok(())
}

fn audit(store: &PostgresStore, note: &str) -> String {
    format!(
        "INSERT INTO {}.soak_audit (note) VALUES ('{note}')",
        store.schema().quoted()
    )
}

/// Appends with `append_many`, except one append in five, which runs in a
/// transaction that first writes an audit row, waits up to 5 ms, then
/// appends with `append_in` and commits.
pub(crate) fn writing_first(store: PostgresStore) -> Append {
    Arc::new(move |appends| {
        let store = store.clone();
        Box::pin(async move {
            if fastrand::u8(..5) != 0 {
                return store.append_many(appends).await;
            }
            // The soak's sessions are killed at random: its own statements'
            // failures are retried like the store's transient ones.
            let fail = |e: sqlx::Error| factum::Error::unavailable("postgres", "soak audit", e);
            let mut tx = store.pool().begin().await.map_err(fail)?;
            sqlx::query(AssertSqlSafe(audit(&store, "before an append")))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            tokio::time::sleep(Duration::from_micros(fastrand::u64(..5_000))).await;
            let results = store.append_in(&mut tx, appends).await?;
            tx.commit().await.map_err(fail)?;
            Ok(results)
        })
    })
}

/// What the batch job did.
#[derive(Default)]
pub(crate) struct Batch {
    /// Transactions committed, each open for `hold`.
    pub(crate) transactions: u64,
    /// Transactions that failed (a killed session, the server restarting).
    pub(crate) failed: u64,
}

/// Until `stop` is set: a transaction that writes an audit row, stays open
/// for `hold` and commits, again and again, on a connection of its own.
pub(crate) async fn batch_job(
    store: PostgresStore,
    hold: Duration,
    stop: Arc<AtomicBool>,
) -> Batch {
    let mut batch = Batch::default();
    while !stop.load(Ordering::Relaxed) {
        let round = async {
            let mut conn = store.pool().acquire().await?;
            let mut tx = conn.begin().await?;
            sqlx::query(AssertSqlSafe(audit(&store, "batch job")))
                .execute(&mut *tx)
                .await?;
            tokio::time::sleep(hold).await;
            tx.commit().await
        };
        match round.await {
            Ok(()) => batch.transactions += 1,
            Err(_) => {
                batch.failed += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    batch
}
