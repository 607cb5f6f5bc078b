//! Read models in the store's database, the same on SQLite and PostgreSQL:
//! one projection type, written once over sqlx's generic connection, runs
//! under `SqliteProjectionRunner` and `PostgresProjectionRunner` and builds
//! the same tables; a poison event is parked in the page's transaction
//! (the events before it committed, the ones after it handled), listed and
//! replayed after a fix; with the stop policy the checkpoint covers the
//! events before the failing one; a rebuild without `reset` is refused.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

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
use sqlx::{Database, Encode, Executor, IntoArguments, SqliteConnection, Type};

/// Sums the `amount` of every `Deposited` event per stream into `totals`,
/// and counts each event it handles in `handled` (so a double count shows).
/// Written once for every sqlx connection whose database runs its SQL.
#[derive(Clone)]
struct Totals {
    name: &'static str,
    /// While set, the handler fails on every event of this amount.
    poison: Option<i64>,
    /// Set by the test to make the poison go away (the fix).
    fixed: Arc<AtomicBool>,
    /// Whether the projection writes `reset`.
    resettable: bool,
}

impl Totals {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            poison: None,
            fixed: Arc::new(AtomicBool::new(false)),
            resettable: true,
        }
    }
}

const CREATE_TABLES: [&str; 2] = [
    "CREATE TABLE totals (stream_id TEXT PRIMARY KEY, total BIGINT NOT NULL)",
    "CREATE TABLE handled (seq BIGINT PRIMARY KEY, n BIGINT NOT NULL)",
];

fn amount(event: &RecordedEvent) -> Result<i64, BoxError> {
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

fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    }
}

/// Deposits `amounts` to `account-<i % 3>`, one append each; their positions.
async fn deposit(store: &impl EventAppender, amounts: &[i64]) -> Vec<GlobalPosition> {
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
type Model = (BTreeMap<String, i64>, BTreeMap<i64, i64>);

/// What a runner of either backend is asked to do here.
#[factum::async_trait]
trait Runner: Send {
    async fn catch_up(&mut self) -> Result<u64, ProjectionError>;
    async fn rebuild(&mut self) -> Result<u64, ProjectionError>;
    async fn checkpoint(&self) -> Option<GlobalPosition>;
    async fn parked(&self) -> Vec<factum::ParkedEvent>;
    async fn replay_parked(&mut self) -> ParkedReplay;
    async fn model(&self) -> Model;
}

async fn read_model<'c, E>(conn: E) -> Model
where
    E: Executor<'c> + Copy,
    for<'r> (String, i64): sqlx::FromRow<'r, <E::Database as Database>::Row>,
    for<'r> (i64, i64): sqlx::FromRow<'r, <E::Database as Database>::Row>,
    <E::Database as Database>::Arguments: IntoArguments<E::Database>,
{
    let totals: Vec<(String, i64)> = sqlx::query_as("SELECT stream_id, total FROM totals")
        .fetch_all(conn)
        .await
        .unwrap();
    let handled: Vec<(i64, i64)> = sqlx::query_as("SELECT seq, n FROM handled")
        .fetch_all(conn)
        .await
        .unwrap();
    (totals.into_iter().collect(), handled.into_iter().collect())
}

struct OnSqlite(SqliteProjectionRunner<Totals>, SqliteStore);

#[factum::async_trait]
impl Runner for OnSqlite {
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
        let mut conn = self.1.read_connection().await.unwrap();
        let conn: &mut SqliteConnection = &mut conn;
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
}

struct OnPostgres(PostgresProjectionRunner<Totals>, PostgresStore);

#[factum::async_trait]
impl Runner for OnPostgres {
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
        read_model(self.1.pool()).await
    }
}

/// An SQLite file store with the read model's tables, and its directory.
async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
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
async fn postgres() -> (PostgresStore, TestSchema) {
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

fn sqlite_runner(store: &SqliteStore, totals: Totals, policy: FailurePolicy) -> OnSqlite {
    let runner = SqliteProjectionRunner::new(store.clone(), totals)
        .with_retry(quick_retry())
        .with_failure_policy(policy)
        .with_batch_size(4);
    OnSqlite(runner, store.clone())
}

fn postgres_runner(store: &PostgresStore, totals: Totals, policy: FailurePolicy) -> OnPostgres {
    let runner = PostgresProjectionRunner::new(store.clone(), totals)
        .with_retry(quick_retry())
        .with_failure_policy(policy)
        .with_batch_size(4);
    OnPostgres(runner, store.clone())
}

/// The expected model of `amounts` deposited by [`deposit`], leaving out
/// the events at `skipped` indexes.
fn fold(amounts: &[i64], positions: &[GlobalPosition], skipped: &[usize]) -> Model {
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

const AMOUNTS: [i64; 10] = [1, 2, 3, 4, 5, 666, 7, 8, 9, 10];
const POISON_INDEX: usize = 5;

async fn parks_and_replays(
    runner: &mut dyn Runner,
    positions: &[GlobalPosition],
    fixed: &AtomicBool,
) {
    let handled = runner.catch_up().await.unwrap();
    assert_eq!(
        handled,
        9,
        "every event but one: {:?}",
        runner.parked().await
    );
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS, positions, &[POISON_INDEX])
    );
    assert_eq!(runner.checkpoint().await, positions.last().copied());
    let parked = runner.parked().await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(
        (
            parked[0].position,
            parked[0].stream_id.as_str(),
            parked[0].attempts
        ),
        (positions[POISON_INDEX], "account-2", 2)
    );
    assert!(
        parked[0].error.contains("cannot book an amount of 666"),
        "{}",
        parked[0].error
    );

    let again = runner.replay_parked().await;
    assert_eq!((again.replayed, again.still_parked.len()), (0, 1));
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS, positions, &[POISON_INDEX]),
        "a failed replay writes nothing"
    );

    fixed.store(true, Ordering::SeqCst);
    let replay = runner.replay_parked().await;
    assert_eq!((replay.replayed, replay.still_parked.len()), (1, 0));
    assert_eq!(runner.parked().await, vec![]);
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS, positions, &[]),
        "each event exactly once"
    );
    assert_eq!(runner.checkpoint().await, positions.last().copied());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_parked_in_the_page_transaction_and_replayed() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let sqlite_positions = deposit(&sqlite_store, &AMOUNTS).await;
    let pg_positions = deposit(&pg_store, &AMOUNTS).await;
    let poisoned = || Totals {
        poison: Some(AMOUNTS[POISON_INDEX]),
        ..Totals::new("totals")
    };

    let totals = poisoned();
    let fixed = totals.fixed.clone();
    let mut runner = sqlite_runner(&sqlite_store, totals, FailurePolicy::Park);
    parks_and_replays(&mut runner, &sqlite_positions, &fixed).await;

    let totals = poisoned();
    let fixed = totals.fixed.clone();
    let mut runner = postgres_runner(&pg_store, totals, FailurePolicy::Park);
    parks_and_replays(&mut runner, &pg_positions, &fixed).await;
}

async fn stops_after_the_events_before(runner: &mut dyn Runner, positions: &[GlobalPosition]) {
    match runner.catch_up().await {
        Err(ProjectionError::Handler {
            position, attempts, ..
        }) => {
            assert_eq!((position, attempts), (positions[POISON_INDEX], 2));
        }
        other => panic!("expected the handler's error, got {other:?}"),
    }
    assert_eq!(
        runner.checkpoint().await,
        Some(positions[POISON_INDEX - 1]),
        "the checkpoint covers the events before the failing one, in its page too"
    );
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS[..POISON_INDEX], &positions[..POISON_INDEX], &[]),
        "the events before it are in the read model, once"
    );
    assert_eq!(
        runner.parked().await,
        vec![],
        "the stop policy parks nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_policy_keeps_the_events_before_the_failing_one() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let sqlite_positions = deposit(&sqlite_store, &AMOUNTS).await;
    let pg_positions = deposit(&pg_store, &AMOUNTS).await;
    let poisoned = || Totals {
        poison: Some(AMOUNTS[POISON_INDEX]),
        ..Totals::new("totals")
    };
    let mut runner = sqlite_runner(&sqlite_store, poisoned(), FailurePolicy::Stop);
    stops_after_the_events_before(&mut runner, &sqlite_positions).await;
    let mut runner = postgres_runner(&pg_store, poisoned(), FailurePolicy::Stop);
    stops_after_the_events_before(&mut runner, &pg_positions).await;
}

async fn rebuilds(
    runner: &mut dyn Runner,
    refusing: &mut dyn Runner,
    positions: &[GlobalPosition],
) {
    assert_eq!(runner.catch_up().await.unwrap(), 10);
    let built = runner.model().await;
    assert_eq!(built, fold(&AMOUNTS, positions, &[]));
    let refused = refusing.rebuild().await.unwrap_err();
    assert!(refused.is_reset_not_written(), "{refused:?}");
    assert_eq!(
        runner.model().await,
        built,
        "a refused rebuild changes nothing"
    );
    assert_eq!(runner.checkpoint().await, positions.last().copied());
    assert_eq!(runner.rebuild().await.unwrap(), 10);
    assert_eq!(
        runner.model().await,
        built,
        "a rebuild counts each event once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_projection_builds_the_same_read_model_on_both_backends() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let sqlite_positions = deposit(&sqlite_store, &AMOUNTS).await;
    let pg_positions = deposit(&pg_store, &AMOUNTS).await;
    let no_reset = || Totals {
        resettable: false,
        ..Totals::new("totals")
    };
    let mut on_sqlite = sqlite_runner(&sqlite_store, Totals::new("totals"), FailurePolicy::Stop);
    let mut refusing = sqlite_runner(&sqlite_store, no_reset(), FailurePolicy::Stop);
    rebuilds(&mut on_sqlite, &mut refusing, &sqlite_positions).await;
    let mut on_postgres = postgres_runner(&pg_store, Totals::new("totals"), FailurePolicy::Stop);
    let mut refusing = postgres_runner(&pg_store, no_reset(), FailurePolicy::Stop);
    rebuilds(&mut on_postgres, &mut refusing, &pg_positions).await;
    assert_eq!(
        on_sqlite.model().await.0,
        on_postgres.model().await.0,
        "one projection, one read model"
    );
}

/// Splits each stored `Doubled` into two `Deposited` of its amount and
/// drops `Ignored`.
fn doubling() -> factum::Upcasters {
    factum::Upcasters::new()
        .register_split("Doubled", 1, |payload| {
            let deposit = factum::Upcasted {
                event_type: "Deposited".into(),
                schema_version: 1,
                payload,
            };
            Ok(vec![deposit.clone(), deposit])
        })
        .register_drop("Ignored", 1)
}

/// Both transactional runners hand the projection today's events: a split
/// event part by part, in the page's transaction, a dropped one not at
/// all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_runners_hand_over_upcasted_events() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let stream = StreamId::new("account-9").unwrap();
    let events = || {
        vec![
            EventData::json("Deposited", br#"{"amount":1}"#.to_vec()),
            EventData::json("Doubled", br#"{"amount":5}"#.to_vec()),
            EventData::json("Ignored", br#"{"amount":1000}"#.to_vec()),
        ]
    };
    sqlite_store
        .append(&stream, ExpectedVersion::NoStream, events())
        .await
        .unwrap();
    pg_store
        .append(&stream, ExpectedVersion::NoStream, events())
        .await
        .unwrap();
    let expected = BTreeMap::from([("account-9".to_owned(), 11)]);

    let runner = SqliteProjectionRunner::new(sqlite_store.clone(), Totals::new("doubling"))
        .with_upcasters(doubling());
    let mut on_sqlite = OnSqlite(runner, sqlite_store.clone());
    assert_eq!(on_sqlite.catch_up().await.unwrap(), 3);
    let (totals, handled) = on_sqlite.model().await;
    assert_eq!(totals, expected);
    assert_eq!(
        handled.values().copied().collect::<Vec<_>>(),
        [1, 2],
        "the split event twice"
    );

    let runner = PostgresProjectionRunner::new(pg_store.clone(), Totals::new("doubling"))
        .with_upcasters(doubling());
    let mut on_postgres = OnPostgres(runner, pg_store.clone());
    assert_eq!(on_postgres.catch_up().await.unwrap(), 3);
    let (totals, handled) = on_postgres.model().await;
    assert_eq!(totals, expected);
    assert_eq!(
        handled.values().copied().collect::<Vec<_>>(),
        [1, 2],
        "the split event twice"
    );
}
