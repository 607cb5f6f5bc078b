//! Exactly-once read models on SQLite: `SqliteProjectionRunner` against a
//! hand-written loop doing the same work, in the same run, on the same
//! file. The store holds `--events N` deposits (default 100,000) over 100
//! streams; each way keeps a `totals` table (one upsert per event) and a
//! checkpoint, one transaction per page of 500 events:
//!
//! - `factum`: `SqliteProjectionRunner::catch_up` with a
//!   `TransactionalProjection<SqliteConnection>` that runs the upsert;
//! - `plain`: the feed read with `read_all`, then `BEGIN IMMEDIATE`, the
//!   same upserts and a checkpoint upsert, `COMMIT`, written by hand with
//!   sqlx on a connection of its own.
//!
//! Each way catches up from the start three times (read model and
//! checkpoint cleared in between), interleaved; prints each run's events
//! per second, the median of each way, and factum / plain.
//!
//! `cargo bench --bench read_models` (`-- --events N`).

use std::time::{Duration, Instant};

use factum::sqlite::sqlx::{self, Connection, SqliteConnection};
use factum::sqlite::{SqliteProjectionRunner, SqliteStore};
use factum::{
    BoxError, CheckpointStore, EventAppender, EventData, EventReader, ExpectedVersion,
    GlobalPosition, RecordedEvent, StreamAppend, StreamId, TransactionalProjection,
};

const PAGE: usize = 500;
const ROUNDS: usize = 3;
const UPSERT: &str = "INSERT INTO totals (stream_id, total) VALUES (?1, ?2) \
                      ON CONFLICT (stream_id) DO UPDATE SET total = total + excluded.total";

/// Sums the amounts per stream.
struct Totals;

#[factum::async_trait]
impl TransactionalProjection<SqliteConnection> for Totals {
    fn name(&self) -> &str {
        "totals"
    }

    async fn handle(
        &mut self,
        tx: &mut SqliteConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        sqlx::query(UPSERT)
            .bind(event.stream_id.as_str())
            .bind(amount(event)?)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn reset(&mut self, tx: &mut SqliteConnection) -> Result<(), BoxError> {
        sqlx::query("DELETE FROM totals").execute(&mut *tx).await?;
        Ok(())
    }
}

fn amount(event: &RecordedEvent) -> Result<i64, BoxError> {
    Ok(std::str::from_utf8(&event.payload)?.parse()?)
}

/// The hand-written loop: pages of the feed, each applied in one
/// transaction with its checkpoint.
async fn plain(
    store: &SqliteStore,
    conn: &mut SqliteConnection,
    upsert: &str,
) -> Result<u64, BoxError> {
    let mut after = GlobalPosition::START;
    let mut handled = 0;
    loop {
        let page = store.read_all(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(handled);
        };
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        for event in &page {
            sqlx::query(sqlx::AssertSqlSafe(upsert))
                .bind(event.stream_id.as_str())
                .bind(amount(event)?)
                .execute(&mut *tx)
                .await?;
            handled += 1;
        }
        let (_, sequence) = last.position.to_parts();
        sqlx::query(
            "INSERT INTO plain_checkpoint (name, sequence) VALUES ('plain', ?1) \
             ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence",
        )
        .bind(i64::try_from(sequence)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        after = last.position;
    }
}

fn rate(events: u64, took: Duration) -> f64 {
    events as f64 / took.as_secs_f64()
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut events: u64 = 100_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--events" {
            events = args.next().and_then(|n| n.parse().ok()).unwrap_or(events);
        }
    }
    let dir = std::env::temp_dir().join(format!("factum-bench-read-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("bench.db");
    let store = SqliteStore::open(&path).await?;
    for sql in [
        "CREATE TABLE totals (stream_id TEXT PRIMARY KEY, total INTEGER NOT NULL)",
        "CREATE TABLE plain_totals (stream_id TEXT PRIMARY KEY, total INTEGER NOT NULL)",
        "CREATE TABLE plain_checkpoint (name TEXT PRIMARY KEY, sequence INTEGER NOT NULL)",
    ] {
        sqlx::query(sql)
            .execute(&mut *store.read_connection().await?)
            .await?;
    }
    let mut written = 0;
    while written < events {
        let appends = (0..100u64.min(events - written))
            .map(|i| {
                let n = written + i;
                let stream = StreamId::new(format!("account-{}", n % 100)).expect("a stream id");
                let event = EventData::json("Deposited", (n % 1000).to_string().into_bytes());
                StreamAppend::new(stream, ExpectedVersion::Any, vec![event])
            })
            .collect::<Vec<_>>();
        written += appends.len() as u64;
        store.append_many(appends).await?;
    }
    eprintln!("{events} events written");

    // The plain loop writes its own tables: the same statements on other names.
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
    let plain_upsert = UPSERT.replace("totals", "plain_totals");
    let (mut factum_rates, mut plain_rates) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let mut runner = SqliteProjectionRunner::new(store.clone(), Totals).with_batch_size(PAGE);
        let start = Instant::now();
        let handled = if round == 1 {
            runner.catch_up().await?
        } else {
            runner.rebuild().await?
        };
        let factum_rate = rate(handled, start.elapsed());

        sqlx::query("DELETE FROM plain_checkpoint")
            .execute(&mut conn)
            .await?;
        sqlx::query("DELETE FROM plain_totals")
            .execute(&mut conn)
            .await?;
        let start = Instant::now();
        let plain_handled = plain(&store, &mut conn, &plain_upsert).await?;
        let plain_rate = rate(plain_handled, start.elapsed());
        assert_eq!(handled, plain_handled);
        eprintln!(
            "round {round}: factum {factum_rate:.0} events/s, plain {plain_rate:.0} events/s"
        );
        factum_rates.push(factum_rate);
        plain_rates.push(plain_rate);
    }
    let (f, p) = (median(factum_rates), median(plain_rates));
    println!(
        "median: factum {f:.0} events/s, plain {p:.0} events/s, factum / plain {:.2}",
        f / p
    );
    assert!(store.load_checkpoint("totals").await?.is_some());
    store.close().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
