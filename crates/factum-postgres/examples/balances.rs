//! Account balances, a read model kept in PostgreSQL next to the events and
//! updated exactly once per event by [`PostgresProjectionRunner`]: each page of
//! events and the projection's checkpoint commit in one transaction.
//!
//! Bank-style events (`Opened`, `Deposited`, `Withdrawn`) are appended with
//! idempotency keys, so running the example again appends nothing new and
//! prints the same balances.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run -p factum-postgres --example balances
//! ```

use std::time::Duration;

use async_trait::async_trait;
use factum_core::{
    BoxError, EventAppender, EventData, EventFilter, ExpectedVersion, RecordedEvent, StreamId,
};
use factum_postgres::{
    Lease, PostgresOptions, PostgresProjectionRunner, PostgresStore, SchemaName,
    TransactionalProjection,
};
use serde_json::{Value, json};
use sqlx::PgConnection;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA: &str = "factum_balances_example";

/// The read model: `account_balances` in the store's schema.
struct Balances;

#[async_trait]
impl TransactionalProjection<PgConnection> for Balances {
    fn name(&self) -> &str {
        "account_balances"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().categories(["account"])
    }

    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let data: Value = serde_json::from_slice(&event.payload)?;
        let account = event.stream_id.as_str();
        match event.event_type.as_str() {
            "Opened" => {
                sqlx::query(
                    "INSERT INTO factum_balances_example.account_balances (account, owner, balance) \
                     VALUES ($1, $2, 0)",
                )
                .bind(account)
                .bind(data["owner"].as_str().ok_or("Opened without an owner")?)
                .execute(&mut *tx)
                .await?;
            }
            kind @ ("Deposited" | "Withdrawn") => {
                let amount = data["amount"].as_i64().ok_or("an amount is missing")?;
                let delta = if kind == "Deposited" { amount } else { -amount };
                sqlx::query(
                    "UPDATE factum_balances_example.account_balances \
                     SET balance = balance + $2 WHERE account = $1",
                )
                .bind(account)
                .bind(delta)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn reset(&mut self, tx: &mut PgConnection) -> Result<(), BoxError> {
        sqlx::query("DELETE FROM factum_balances_example.account_balances")
            .execute(tx)
            .await?;
        Ok(())
    }
}

/// One event with an idempotency key naming it, so a second run stores it
/// no second time.
fn event(kind: &str, key: &str, data: Value) -> EventData {
    EventData::json(kind, data.to_string().into_bytes()).with_idempotency_key(key)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let options = PostgresOptions::default().with_schema(SchemaName::new(SCHEMA)?);
    let store = PostgresStore::connect_with(&url, options).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS factum_balances_example.account_balances \
         (account text PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL)",
    )
    .execute(store.pool())
    .await?;

    let alice = StreamId::new("account-alice")?;
    let bob = StreamId::new("account-bob")?;
    let history = [
        (
            &alice,
            event("Opened", "alice-opened", json!({"owner": "Alice"})),
        ),
        (
            &alice,
            event("Deposited", "alice-dep-1", json!({"amount": 100})),
        ),
        (&bob, event("Opened", "bob-opened", json!({"owner": "Bob"}))),
        (&bob, event("Deposited", "bob-dep-1", json!({"amount": 50}))),
        (
            &alice,
            event("Withdrawn", "alice-wd-1", json!({"amount": 30})),
        ),
        (&bob, event("Deposited", "bob-dep-2", json!({"amount": 20}))),
    ];
    let mut written = 0;
    for (stream, event) in history {
        let result = store
            .append(stream, ExpectedVersion::Any, vec![event])
            .await?;
        written += result.written_positions().count();
    }
    println!("appended {written} new events");

    // A lease lets several copies of this program run side by side: one
    // updates the balances, the others wait for its lease.
    let mut runner = PostgresProjectionRunner::new(store.clone(), Balances)
        .with_lease(Lease::new(Duration::from_secs(10)));
    let handled = runner.catch_up().await?;
    let lag = runner.lag().await?;
    println!("handled {handled} events; caught up: {}", lag.caught_up());

    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT account, owner, balance FROM factum_balances_example.account_balances ORDER BY account",
    )
    .fetch_all(store.pool())
    .await?;
    for (account, owner, balance) in rows {
        println!("{account:<15} {owner:<6} {balance:>5}");
    }
    Ok(())
}
