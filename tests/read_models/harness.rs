//! What the read-model checks share: one projection written once over
//! sqlx's generic connection, a store of each SQL backend with its tables,
//! and each backend's runner behind one [`Runner`] trait.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use factum::postgres::testing::TestSchema;
use factum::postgres::{PostgresOptions, PostgresProjectionRunner, PostgresStore};
use factum::sqlite::{SqliteProjectionRunner, SqliteStore};
use factum::{
    BoxError, EventAppender, EventData, ExpectedVersion, FailurePolicy, GlobalPosition,
    ParkedReplay, ProjectionError, RecordedEvent, RetryPolicy, StreamId, TransactionalProjection,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

/// Sums the `amount` of every `Deposited` event per stream into `totals`,
/// and counts each event it handles in `handled` (so a double count shows).
/// Written once for every sqlx connection whose database runs its SQL.
#[derive(Clone)]
pub(crate) struct Totals {
    pub(crate) name: &'static str,
    /// While set, the handler fails on every event of this amount.
    pub(crate) poison: Option<i64>,
    /// Set by the test to make the poison go away (the fix).
    pub(crate) fixed: Arc<AtomicBool>,
    /// Whether the projection writes `reset`.
    pub(crate) resettable: bool,
}

impl Totals {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            poison: None,
            fixed: Arc::new(AtomicBool::new(false)),
            resettable: true,
        }
    }
}

pub(crate) const CREATE_TABLES: [&str; 2] = [
    "CREATE TABLE totals (stream_id TEXT PRIMARY KEY, total BIGINT NOT NULL)",
    "CREATE TABLE handled (seq BIGINT PRIMARY KEY, n BIGINT NOT NULL)",
];

pub(crate) fn amount(event: &RecordedEvent) -> Result<i64, BoxError> {
    let payload: serde_json::Value = serde_json::from_slice(&event.payload)?;
    payload["amount"]
        .as_i64()
        .ok_or_else(|| "a deposit without an amount".into())
}

#[factum::async_trait]
impl<C> TransactionalProjection<C> for Totals
where
    C: sqlx::Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    fn name(&self) -> &str {
        self.name
    }

    async fn handle(&mut self, tx: &mut C, event: &RecordedEvent) -> Result<(), BoxError> {
        let amount = amount(event)?;
        if self.poison == Some(amount) && !self.fixed.load(Ordering::SeqCst) {
            return Err(format!("cannot book an amount of {amount}").into());
        }
        sqlx::query(
            "INSERT INTO totals (stream_id, total) VALUES ($1, $2) \
             ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + excluded.total",
        )
        .bind(event.stream_id.to_string())
        .bind(amount)
        .execute(&mut *tx)
        .await?;
        let (_, seq) = event.position.to_parts();
        sqlx::query(
            "INSERT INTO handled (seq, n) VALUES ($1, 1) \
             ON CONFLICT (seq) DO UPDATE SET n = handled.n + 1",
        )
        .bind(i64::try_from(seq)?)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    async fn reset(&mut self, tx: &mut C) -> Result<(), BoxError> {
        if !self.resettable {
            return Err(factum::ResetNotWritten.into());
        }
        sqlx::query("DELETE FROM totals").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM handled").execute(&mut *tx).await?;
        Ok(())
    }
}

pub(crate) fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    }
}

/// Deposits `amounts` to `account-<i % 3>`, one append each; their positions.
pub(crate) async fn deposit(store: &impl EventAppender, amounts: &[i64]) -> Vec<GlobalPosition> {
    let mut positions = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let stream = StreamId::new(format!("account-{}", i % 3)).unwrap();
        let event = EventData::json(
            "Deposited",
            format!(r#"{{"amount":{amount}}}"#).into_bytes(),
        );
        let result = store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .await
            .unwrap();
        positions.extend(result.written_positions());
    }
    positions
}

/// The read model: totals per stream, and how often each event was handled.
pub(crate) type Model = (BTreeMap<String, i64>, BTreeMap<i64, i64>);

/// What a runner of either backend is asked to do here.
#[factum::async_trait]
pub(crate) trait Runner: Send {
    async fn catch_up(&mut self) -> Result<u64, ProjectionError>;
    async fn rebuild(&mut self) -> Result<u64, ProjectionError>;
    async fn checkpoint(&self) -> Option<GlobalPosition>;
    async fn parked(&self) -> Vec<factum::ParkedEvent>;
    async fn replay_parked(&mut self) -> ParkedReplay;
    async fn model(&self) -> Model;
}

/// The read model through `conn`.
async fn read_model<C>(conn: &mut C) -> Model
where
    C: sqlx::Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'r> (String, i64): sqlx::FromRow<'r, <C::Database as Database>::Row>,
    for<'r> (i64, i64): sqlx::FromRow<'r, <C::Database as Database>::Row>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
{
    let totals: Vec<(String, i64)> = sqlx::query_as("SELECT stream_id, total FROM totals")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let handled: Vec<(i64, i64)> = sqlx::query_as("SELECT seq, n FROM handled")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    (totals.into_iter().collect(), handled.into_iter().collect())
}

/// [`Runner`] for a backend's runner (`$runner`) over its store (`$store`),
/// whose read model `$model` reads.
macro_rules! runner_on {
    ($name:ident, $runner:ty, $store:ty, |$it:ident| $model:expr) => {
        pub(crate) struct $name(pub(crate) $runner, pub(crate) $store);

        #[factum::async_trait]
        impl Runner for $name {
            async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
                self.0.catch_up().await
            }
            async fn rebuild(&mut self) -> Result<u64, ProjectionError> {
                self.0.rebuild().await
            }
            async fn checkpoint(&self) -> Option<GlobalPosition> {
                self.0.checkpoint().await.unwrap()
            }
            async fn parked(&self) -> Vec<factum::ParkedEvent> {
                self.0.parked().await.unwrap()
            }
            async fn replay_parked(&mut self) -> ParkedReplay {
                self.0.replay_parked().await.unwrap()
            }
            async fn model(&self) -> Model {
                let $it = &self.1;
                $model
            }
        }
    };
}

runner_on!(
    OnSqlite,
    SqliteProjectionRunner<Totals>,
    SqliteStore,
    |store| read_model(&mut *store.read_connection().await.unwrap()).await
);
runner_on!(
    OnPostgres,
    PostgresProjectionRunner<Totals>,
    PostgresStore,
    |store| read_model(&mut *store.pool().acquire().await.unwrap()).await
);

/// An SQLite file store with the read model's tables, and its directory.
pub(crate) async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("read-models.db"))
        .await
        .unwrap();
    for sql in CREATE_TABLES {
        sqlx::query(sql)
            .execute(&mut *store.read_connection().await.unwrap())
            .await
            .unwrap();
    }
    (store, dir)
}

/// A PostgreSQL store in a schema of its own, on connections whose search
/// path is that schema, where the read model's tables are created: the
/// projection's SQL names them unqualified, as on SQLite.
pub(crate) async fn postgres() -> (PostgresStore, TestSchema) {
    let schema = TestSchema::create().await.unwrap();
    let connect = PgConnectOptions::from_str(schema.url())
        .unwrap()
        .options([("search_path", schema.schema().quoted())]);
    let pool = PgPoolOptions::new().connect_with(connect).await.unwrap();
    let options = PostgresOptions::default().with_schema(schema.schema().clone());
    let store = PostgresStore::with_options(pool, options);
    store.migrate().await.unwrap();
    for sql in CREATE_TABLES {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
    (store, schema)
}

pub(crate) fn sqlite_runner(
    store: &SqliteStore,
    totals: Totals,
    policy: FailurePolicy,
) -> OnSqlite {
    let runner = SqliteProjectionRunner::new(store.clone(), totals)
        .with_retry(quick_retry())
        .with_failure_policy(policy)
        .with_batch_size(4);
    OnSqlite(runner, store.clone())
}

pub(crate) fn postgres_runner(
    store: &PostgresStore,
    totals: Totals,
    policy: FailurePolicy,
) -> OnPostgres {
    let runner = PostgresProjectionRunner::new(store.clone(), totals)
        .with_retry(quick_retry())
        .with_failure_policy(policy)
        .with_batch_size(4);
    OnPostgres(runner, store.clone())
}

/// The expected model of `amounts` deposited by [`deposit`], leaving out
/// the events at `skipped` indexes.
pub(crate) fn fold(amounts: &[i64], positions: &[GlobalPosition], skipped: &[usize]) -> Model {
    let mut totals = BTreeMap::new();
    let mut handled = BTreeMap::new();
    for (i, (amount, position)) in amounts.iter().zip(positions).enumerate() {
        if skipped.contains(&i) {
            continue;
        }
        *totals.entry(format!("account-{}", i % 3)).or_default() += amount;
        handled.insert(i64::try_from(position.to_parts().1).unwrap(), 1);
    }
    (totals, handled)
}
