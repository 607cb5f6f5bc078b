//! A read model for projection tests: per-stream event counts and sums of
//! the payload field `amount`, and one row per handled event (its position
//! under a primary key, so handling an event twice fails the page).

#![allow(dead_code, unreachable_pub)] // Each test binary uses a part.
#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

pub mod feed;
pub mod restricted;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;

use async_trait::async_trait;
use factum_core::{
    BoxError, EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition,
    RecordedEvent, StreamId,
};
use factum_postgres::{PostgresOptions, PostgresStore, SchemaName, TransactionalProjection};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

/// Per stream: (events, sum of amounts).
pub type Totals = BTreeMap<String, (i64, i64)>;

pub struct TotalsProjection {
    pub name: String,
    /// The quoted schema holding the tables.
    pub schema: String,
    /// Written to `handled.worker`.
    pub worker: String,
}

impl TotalsProjection {
    pub fn new(store: &PostgresStore, worker: &str) -> Self {
        Self {
            name: "totals".into(),
            schema: store.schema().quoted(),
            worker: worker.into(),
        }
    }

    /// Creates the read model's tables.
    pub async fn create_tables(pool: &PgPool, store: &PostgresStore) {
        let s = store.schema().quoted();
        for sql in [
            format!(
                "CREATE TABLE {s}.totals (stream_id text PRIMARY KEY, n bigint NOT NULL, total bigint NOT NULL)"
            ),
            format!(
                "CREATE TABLE {s}.handled (commit_part bigint, seq_part bigint, worker text NOT NULL, \
                 handled_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (commit_part, seq_part))"
            ),
        ] {
            sqlx::query(AssertSqlSafe(sql)).execute(pool).await.unwrap();
        }
    }
}

#[async_trait]
impl TransactionalProjection<PgConnection> for TotalsProjection {
    fn name(&self) -> &str {
        &self.name
    }

    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let amount = amount(event);
        let (commit, seq) = event.position.to_parts();
        let s = &self.schema;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {s}.handled (commit_part, seq_part, worker) VALUES ($1, $2, $3)"
        )))
        .bind(commit as i64)
        .bind(seq as i64)
        .bind(&self.worker)
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {s}.totals (stream_id, n, total) VALUES ($1, 1, $2) \
             ON CONFLICT (stream_id) DO UPDATE SET n = totals.n + 1, total = totals.total + $2"
        )))
        .bind(event.stream_id.as_str())
        .bind(amount)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    async fn reset(&mut self, tx: &mut PgConnection) -> Result<(), BoxError> {
        let s = &self.schema;
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {s}.totals")))
            .execute(&mut *tx)
            .await?;
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {s}.handled")))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

pub fn amount(event: &RecordedEvent) -> i64 {
    let value: serde_json::Value = serde_json::from_slice(&event.payload).unwrap();
    value["amount"].as_i64().unwrap()
}

/// Appends one event with `amount` to `stream`.
pub async fn deposit(store: &PostgresStore, stream: &str, amount: i64) {
    store
        .append(
            &StreamId::new(stream).unwrap(),
            ExpectedVersion::Any,
            vec![EventData::json(
                "Deposited",
                format!(r#"{{"amount":{amount}}}"#).into_bytes(),
            )],
        )
        .await
        .unwrap();
}

/// The fold of every event in the feed, and their positions.
pub async fn expected(store: &PostgresStore) -> (Totals, Vec<GlobalPosition>) {
    let mut totals = Totals::new();
    let mut positions = Vec::new();
    let mut after = GlobalPosition::START;
    loop {
        let page = store.read_all(after, 1000).await.unwrap();
        let Some(last) = page.last() else {
            return (totals, positions);
        };
        after = last.position;
        for event in &page {
            let entry = totals.entry(event.stream_id.to_string()).or_default();
            entry.0 += 1;
            entry.1 += amount(event);
            positions.push(event.position);
        }
    }
}

/// The read model as stored, and the handled positions in order.
pub async fn actual(pool: &PgPool, store: &PostgresStore) -> (Totals, Vec<GlobalPosition>) {
    let s = store.schema().quoted();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT stream_id, n, total FROM {s}.totals"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let totals = rows.into_iter().map(|(s, n, t)| (s, (n, t))).collect();
    let handled: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT commit_part, seq_part FROM {s}.handled ORDER BY commit_part, seq_part"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let positions = handled
        .into_iter()
        .map(|(c, q)| GlobalPosition::from_parts(c as u64, q as u64))
        .collect();
    (totals, positions)
}

/// A store on the test schema's server whose sessions carry `app` as
/// application name (to find them in `pg_stat_activity`).
pub async fn named_store(url: &str, schema: &SchemaName, app: &str) -> PostgresStore {
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .application_name(app);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    PostgresStore::with_options(pool, PostgresOptions::default().with_schema(schema.clone()))
}

/// Runs this test binary again with `env`, and waits until the child
/// prints `ready`.
pub fn spawn_ready(env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the child {env:?} failed to start");
    child
}
