//! Catching up on a big store: fills a fresh schema with 1,000,000 events
//! (in SQL, 100 transactions), then reads the whole global feed in pages of
//! 1,000 from the start, three ways, interleaved page by page:
//!
//! - `factum`: `PostgresStore::read_all`;
//! - `before`: the feed statement as it was before migration 0005
//!   (`read_all_before.sql`), sent with sqlx;
//! - `plain`: keyset pagination on the same table and index, no horizon
//!   (`plain_page.sql`): the floor of any feed on this table.
//!
//! Prints the page rate of each tenth of the way for all three, the ratios
//! factum / plain, and the last tenth / the first.
//!
//! `cargo bench --features postgres --bench catchup` on the server
//! `DATABASE_URL` names, else a throwaway cluster; `-- --events N` to
//! change the size.

use std::time::{Duration, Instant};

use factum_core::{EventReader, GlobalPosition};
use factum_postgres::PostgresStore;
use factum_postgres::testing::TestSchema;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

const PAGE: usize = 1000;
const TENTHS: usize = 10;

/// The three ways a page is read.
const WAYS: [&str; 3] = ["factum", "before", "plain"];

#[tokio::main]
async fn main() {
    let mut events: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--events" {
            events = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--events N");
        }
    }
    let (store, schema) = TestSchema::store().await.expect("a test schema");
    let filled = Instant::now();
    fill(&store, events).await;
    println!(
        "filled {events} events in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    let q = store.schema().quoted();
    let before = include_str!("read_all_before.sql")
        .replace("{schema}", &q)
        .replace(
            "{event_columns}",
            "transaction_id AS commit_id, seq, stream_id, stream_version, event_id, \
             event_type, schema_version, payload_json::text AS payload_json, payload_bytes, \
             metadata::text AS metadata, idempotency_key, recorded_at",
        );
    let plain = include_str!("plain_page.sql").replace("{schema}", &q);

    let pages = (events as usize).div_ceil(PAGE);
    let mut spent = [[Duration::ZERO; TENTHS]; 3];
    let mut after = [GlobalPosition::START; 3];
    let mut read = 0usize;
    for page in 0..pages {
        let tenth = page * TENTHS / pages;
        let start = Instant::now();
        let got = store.read_all(after[0], PAGE).await.expect("a feed page");
        spent[0][tenth] += start.elapsed();
        let start = Instant::now();
        let old = sql_page(&store, &before, after[1], 1).await;
        spent[1][tenth] += start.elapsed();
        let start = Instant::now();
        let bare = sql_page(&store, &plain, after[2], 0).await;
        spent[2][tenth] += start.elapsed();
        assert_eq!(got.len(), old.len(), "factum and before read the same page");
        assert_eq!(got.len(), bare.len(), "factum and plain read the same page");
        read += got.len();
        if let Some(e) = got.last() {
            after = [e.position; 3];
        }
    }
    assert_eq!(read as u64, events, "every event read once");

    let rate = |d: Duration| (pages / TENTHS) as f64 / d.as_secs_f64();
    println!(
        "{:>6} {:>14} {:>14} {:>14} {:>13}",
        "tenth", "factum pages/s", "before pages/s", "plain pages/s", "factum/plain"
    );
    let [factum, before, plain] = spent.map(|tenths| tenths.map(rate));
    for (t, ((f, b), p)) in factum.iter().zip(&before).zip(&plain).enumerate() {
        println!("{:>6} {f:>14.0} {b:>14.0} {p:>14.0} {:>13.2}", t + 1, f / p);
    }
    for (way, tenths) in WAYS.iter().zip(&spent) {
        let total: Duration = tenths.iter().sum();
        println!(
            "{way:>6}: whole catch-up {:.1} s, last tenth / first tenth {:.2}",
            total.as_secs_f64(),
            rate(tenths[TENTHS - 1]) / rate(tenths[0]),
        );
    }
    drop(store);
    drop(schema);
}

/// `events` events over 10,000 streams, written by 100 transactions.
async fn fill(store: &PostgresStore, events: u64) {
    let q = store.schema().quoted();
    let per = events / 100;
    for t in 0..100 {
        let sql = format!(
            "INSERT INTO {q}.events (stream_id, stream_version, event_id, event_type, \
                                     schema_version, payload_json, metadata) \
             SELECT 'stream-{t}-' || (g % 100), g / 100 + 1, gen_random_uuid(), 'Filled', 1, \
                    jsonb_build_object('n', g, 'note', 'a payload of about a hundred bytes'), '{{}}' \
             FROM generate_series(0, {per} - 1) AS g"
        );
        sqlx::query(AssertSqlSafe(sql))
            .execute(store.pool())
            .await
            .expect("filling");
    }
    sqlx::query(AssertSqlSafe(format!("VACUUM ANALYZE {q}.events")))
        .execute(store.pool())
        .await
        .expect("vacuum");
}

/// One page of `sql` (the position bound as text and bigint, for `plain`,
/// or as two bigints and the page size, for `before`): its rows, the
/// columns read as `read_all` reads them. `skip` columns come first (the
/// pending flag of `before`); rows without an event (`before`'s empty
/// page) are dropped.
async fn sql_page(
    store: &PostgresStore,
    sql: &str,
    after: GlobalPosition,
    skip: usize,
) -> Vec<PgRow> {
    let (commit, seq) = after.to_parts();
    let query = if skip == 0 {
        sqlx::query(AssertSqlSafe(sql.to_owned()))
            .bind(commit.to_string())
            .bind(seq as i64)
    } else {
        sqlx::query(AssertSqlSafe(sql.to_owned()))
            .bind(commit as i64)
            .bind(seq as i64)
            .bind(PAGE as i64)
    };
    let rows = query.fetch_all(store.pool()).await.expect("a page");
    let rows: Vec<PgRow> = rows
        .into_iter()
        .filter(|r| {
            r.try_get::<Option<i64>, _>(skip + 1)
                .ok()
                .flatten()
                .is_some()
        })
        .collect();
    for row in &rows {
        let _: Option<String> = row.try_get(skip + 2).expect("stream id");
        let _: Option<uuid::Uuid> = row.try_get(skip + 4).expect("event id");
        let _: Option<String> = row.try_get("payload_json").expect("payload");
    }
    rows
}
