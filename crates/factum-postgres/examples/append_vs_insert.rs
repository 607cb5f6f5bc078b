//! A rough side-by-side of workload W1 (single-event appends with an exact
//! expected version, one writer): `PostgresStore::append` against a plain
//! single-row `INSERT` of the same row into a copy of the events table, on
//! the same server, alternating rounds. Prints appends per second of each
//! and their ratio. Not a test: the benchmark runner owns the real figure.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p factum-postgres --example append_vs_insert
//! ```

use std::time::{Duration, Instant};

use factum_core::{EventAppender, EventData, ExpectedVersion, StreamId};
use factum_postgres::testing::TestSchema;
use sqlx::AssertSqlSafe;

const STREAMS: u64 = 200;
const APPENDS: u64 = 10;
const ROUNDS: u64 = 5;
const PAYLOAD: &str = r#"{"account":"acc-000123","amount":12345,"currency":"EUR","note":"a typical small event payload of about 150 bytes, padded"}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (store, schema) = TestSchema::store().await?;
    let q = schema.schema().quoted();
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE {q}.plain (LIKE {q}.events INCLUDING ALL)"
    )))
    .execute(store.pool())
    .await?;
    let insert = format!(
        "INSERT INTO {q}.plain (transaction_id, stream_id, stream_version, event_id, event_type, \
         schema_version, payload_json, metadata) \
         VALUES (pg_current_xact_id(), $1, $2, $3, 'Deposited', 1, $4::text::jsonb, '{{}}'::text::jsonb)"
    );
    let (mut factum, mut plain) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        let started = Instant::now();
        for version in 0..APPENDS {
            for s in 0..STREAMS {
                let stream = StreamId::new(format!("r{round}-s{s}"))?;
                let expected = match version {
                    0 => ExpectedVersion::NoStream,
                    v => ExpectedVersion::Exact(v),
                };
                let event = EventData::json("Deposited", PAYLOAD.as_bytes().to_vec());
                store.append(&stream, expected, vec![event]).await?;
            }
        }
        factum += started.elapsed();
        let started = Instant::now();
        for version in 0..APPENDS {
            for s in 0..STREAMS {
                sqlx::query(AssertSqlSafe(insert.clone()))
                    .bind(format!("r{round}-s{s}"))
                    .bind(version as i64 + 1)
                    .bind(uuid::Uuid::now_v7())
                    .bind(PAYLOAD)
                    .execute(store.pool())
                    .await?;
            }
        }
        plain += started.elapsed();
    }
    let count = (ROUNDS * APPENDS * STREAMS) as f64;
    let (f, p) = (count / factum.as_secs_f64(), count / plain.as_secs_f64());
    println!(
        "factum append: {f:.0}/s; plain INSERT: {p:.0}/s; ratio {:.2}",
        f / p
    );
    drop(store);
    drop(schema);
    Ok(())
}
