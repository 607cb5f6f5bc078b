//! Where the time of a single-event append goes on PostgreSQL: the same
//! event written six ways, one after the other for each event (so that all
//! six share whatever the machine does meanwhile), timed per way:
//!
//! 1. a plain `INSERT … VALUES` into a table with only the columns an event
//!    needs and its (stream, version) primary key: the benchmark's baseline;
//! 2. the same `INSERT` into factum's `events` table, returning the
//!    position (the table's feed, type and idempotency indexes, constraints
//!    and wider row);
//! 3. 2 with the check that version n exists before writing n + 1, by an
//!    `EXISTS` probe;
//! 4. 2 with the check by factum's statement (`sql/append_single.sql`,
//!    which reads the stream's highest version);
//! 5. [`EventAppender::append`] with `Exact(1)`, the whole store;
//! 6. [`EventAppender::append`] with `NoStream`.
//!
//! With a batch size above 1 (workload W2), each append carries that many
//! events, written five ways: the baseline's plain `INSERT … SELECT FROM
//! unnest(…)`; the same into `events`; that returning positions; factum's
//! statement (`sql/append_one.sql`); and the store with `Exact(n)`.
//!
//! `cargo run --release -p factum-postgres --example append_cost [appends [batch]]`
//! (DATABASE_URL, or a throwaway cluster as in the tests; default 5000
//! appends of 1 event). Prints the mean time per append of each way and
//! the plain `INSERT`'s time over it (the ratio the workloads report).

use std::time::{Duration, Instant};

use factum_core::{EventAppender, EventData, ExpectedVersion, StreamId};
use factum_postgres::PostgresStore;
use factum_postgres::testing::{TestSchema, statement_text};
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;

type Error = Box<dyn std::error::Error + Send + Sync>;

const PAYLOAD: &str = r#"{"account":"account-00000123","amount":12345,"currency":"EUR","reference":"invoice-2026-0000012345-monthly-fee","teller":"branch-042/teller-17"}"#;

/// Runs `work`, adding the time it took to `spent`.
async fn timed<T, E: Into<Error>>(
    spent: &mut Duration,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, Error> {
    let started = Instant::now();
    let result = work.await;
    *spent += started.elapsed();
    result.map_err(Into::into)
}

/// Fails unless `rows` holds one row for each of `events` events.
fn all_written(events: usize, rows: Vec<PgRow>) -> Result<(), Error> {
    match rows.len() {
        n if n == events => Ok(()),
        n => Err(format!("{n} rows written instead of {events}").into()),
    }
}

/// An event of one of the statements on factum's table: stream, version
/// (or expected-version code), then the event's fields.
fn event_row(sql: &str, stream: String, version: i64) -> Query<'_, sqlx::Postgres, PgArguments> {
    sqlx::query(AssertSqlSafe(sql))
        .bind(stream)
        .bind(version)
        .bind(uuid::Uuid::now_v7())
        .bind("Deposited")
        .bind(1_i64)
        .bind(Some(PAYLOAD))
        .bind(None::<&[u8]>)
        .bind("{}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let events: u32 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(5_000);
    let batch: usize = std::env::args()
        .nth(2)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1);
    let (store, schema) = TestSchema::store().await?;
    let q = schema.schema().quoted();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE TABLE {q}.plain_events (
             stream_id text NOT NULL, version bigint NOT NULL, event_id uuid NOT NULL,
             event_type text NOT NULL, payload jsonb NOT NULL, metadata jsonb NOT NULL,
             recorded_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (stream_id, version))"
    )))
    .execute(store.pool())
    .await?;
    let (ways, spent) = if batch > 1 {
        batches(&store, &q, events, batch).await?
    } else {
        single_events(&store, &q, events).await?
    };
    let per_append = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(events);
    let plain_time = per_append(spent[0]);
    println!("{events} appends of {batch} event(s) each way; mean time per append, and plain / it");
    for (way, d) in ways.iter().zip(spent) {
        let time = per_append(d);
        println!("{way:<32} {time:>7.1} us  {:>5.2}", plain_time / time);
    }
    store.pool().close().await;
    Ok(())
}

/// The six ways of a single-event append (see the top of the file).
async fn single_events(
    store: &PostgresStore,
    q: &str,
    events: u32,
) -> Result<(Vec<&'static str>, Vec<Duration>), Error> {
    let pool = store.pool();
    let plain = format!(
        "INSERT INTO {q}.plain_events (stream_id, version, event_id, event_type, payload, metadata) \
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)"
    );
    let columns = format!(
        "INSERT INTO {q}.events (stream_id, stream_version, event_id, event_type, \
         schema_version, payload_json, payload_bytes, metadata)"
    );
    let returning = "RETURNING stream_version, transaction_id, seq";
    let values = format!(
        "{columns} VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8::text::jsonb) {returning}"
    );
    let exists = format!(
        "{columns} SELECT $1, $2 + 1, $3, $4, $5, $6::text::jsonb, $7, $8::text::jsonb \
         WHERE EXISTS (SELECT 1 FROM {q}.events WHERE stream_id = $1 AND stream_version = $2) \
         {returning}"
    );
    let factum = statement_text(store, "append_single").ok_or("no append_single statement")?;

    let ways = vec![
        "plain INSERT",
        "INSERT into events",
        "+ version check (EXISTS)",
        "+ version check (factum's SQL)",
        "store, Exact(1)",
        "store, NoStream",
    ];
    let mut spent = vec![Duration::ZERO; ways.len()];
    let event = || vec![EventData::json("Deposited", PAYLOAD.as_bytes().to_vec())];
    for i in 0..events {
        let insert = sqlx::query(AssertSqlSafe(plain.as_str()))
            .bind(format!("plain-{i}"))
            .bind(1_i64)
            .bind(uuid::Uuid::now_v7())
            .bind("Deposited")
            .bind(PAYLOAD)
            .bind("{}");
        timed(&mut spent[0], insert.execute(pool)).await?;

        // Version 1, then 2 after the EXISTS probe, then 3 by factum's SQL.
        let checked = format!("checked-{i}");
        let first = event_row(&values, checked.clone(), 1).fetch_all(pool);
        all_written(1, timed(&mut spent[1], first).await?)?;
        let second = event_row(&exists, checked.clone(), 1).fetch_all(pool);
        all_written(1, timed(&mut spent[2], second).await?)?;
        let third = event_row(&factum, checked, 2).fetch_all(pool);
        all_written(1, timed(&mut spent[3], third).await?)?;

        let stream = StreamId::new(format!("store-{i}"))?;
        let created = store.append(&stream, ExpectedVersion::NoStream, event());
        timed(&mut spent[5], created).await?;
        let exact = store.append(&stream, ExpectedVersion::Exact(1), event());
        timed(&mut spent[4], exact).await?;
    }
    Ok((ways, spent))
}

/// The five ways of an append of `batch` events (see the top of the file).
async fn batches(
    store: &PostgresStore,
    q: &str,
    appends: u32,
    batch: usize,
) -> Result<(Vec<&'static str>, Vec<Duration>), Error> {
    let pool = store.pool();
    let select = "SELECT $1, $2 + u.ord - 1, u.id, u.typ, u.payload::jsonb, u.meta::jsonb \
                  FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[]) \
                  WITH ORDINALITY AS u(id, typ, payload, meta, ord)";
    let plain = format!(
        "INSERT INTO {q}.plain_events (stream_id, version, event_id, event_type, payload, metadata) \
         {select}"
    );
    let events_select = select
        .replace("u.typ,", "u.typ, 1,")
        .replace("u.payload::jsonb,", "u.payload::jsonb, NULL,");
    let into_events = format!(
        "INSERT INTO {q}.events (stream_id, stream_version, event_id, event_type, \
         schema_version, payload_json, payload_bytes, metadata) {events_select}"
    );
    let returning = format!("{into_events} RETURNING stream_version, transaction_id, seq");
    let factum = statement_text(store, "append_one").ok_or("no append_one statement")?;
    let ways = vec![
        "plain INSERT … unnest",
        "INSERT … unnest into events",
        "+ RETURNING positions",
        "factum's SQL (version check)",
        "store, Exact(n)",
    ];
    let mut spent = vec![Duration::ZERO; ways.len()];
    let ids = || (0..batch).map(|_| uuid::Uuid::now_v7()).collect::<Vec<_>>();
    let (types, payloads, metadata) = (
        vec!["Deposited"; batch],
        vec![PAYLOAD; batch],
        vec!["{}"; batch],
    );
    let rows = |sql: &str, stream: String| {
        sqlx::query(AssertSqlSafe(sql))
            .bind(stream)
            .bind(1_i64)
            .bind(ids())
            .bind(types.clone())
            .bind(payloads.clone())
            .bind(metadata.clone())
    };
    let events = || {
        (0..batch)
            .map(|_| EventData::json("Deposited", PAYLOAD.as_bytes().to_vec()))
            .collect::<Vec<_>>()
    };
    for i in 0..appends {
        let plain_rows = rows(&plain, format!("plain-{i}")).execute(pool);
        timed(&mut spent[0], plain_rows).await?;
        let event_rows = rows(&into_events, format!("events-{i}")).execute(pool);
        timed(&mut spent[1], event_rows).await?;
        let returned = rows(&returning, format!("returning-{i}")).fetch_all(pool);
        all_written(batch, timed(&mut spent[2], returned).await?)?;
        let factum_rows = sqlx::query(AssertSqlSafe(factum.as_str()))
            .bind(format!("factum-{i}"))
            .bind(-2_i64)
            .bind(ids())
            .bind(types.clone())
            .bind(vec![1_i64; batch])
            .bind(vec![Some(PAYLOAD); batch])
            .bind(vec![None::<Vec<u8>>; batch])
            .bind(metadata.clone())
            .fetch_all(pool);
        all_written(batch, timed(&mut spent[3], factum_rows).await?)?;
        // The store's first append (NoStream) is not timed: W2 appends with
        // an exact version.
        let stream = StreamId::new(format!("store-{i}"))?;
        store
            .append(&stream, ExpectedVersion::NoStream, events())
            .await?;
        let exact = store.append(&stream, ExpectedVersion::Exact(batch as u64), events());
        timed(&mut spent[4], exact).await?;
    }
    Ok((ways, spent))
}
