//! Catching up costs the same on a big store: a page of the feed read from
//! an old position touches about as many buffers as one read near the
//! head, and the head look-up touches a handful, however many events lie
//! after the reader. Buffer counts, not times: EXPLAIN (ANALYZE, BUFFERS)
//! reports them exactly, so the test is deterministic.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{EventReader, GlobalPosition};
use factum_postgres::PostgresStore;
use factum_postgres::testing::{TestSchema, statement_text};
use sqlx::AssertSqlSafe;

/// Events in the table, written by this many transactions.
const EVENTS: u64 = 200_000;
const TRANSACTIONS: u64 = 20;
const PAGE: u64 = 1000;

/// Shared buffers (hit or read) that running `name` with `binds` touches
/// in the events table and its indexes.
async fn buffers(store: &PostgresStore, name: &str, binds: &[(&str, &str, String)]) -> u64 {
    let mut sql = statement_text(store, name).expect("a known statement");
    // Highest parameter first, so that $1 does not match inside $10.
    for (param, cast, value) in binds.iter().rev() {
        sql = sql.replace(param, &format!("'{value}'::text::{cast}"));
    }
    let explain = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}");
    let plan: serde_json::Value = sqlx::query_scalar(AssertSqlSafe(explain))
        .fetch_one(store.pool())
        .await
        .unwrap();
    events_buffers(&plan[0]["Plan"])
}

/// The buffers that the nodes of `node`'s tree scanning `events` touched
/// themselves (a node's count includes its children's, which are taken
/// off). The horizon function's own catalog look-ups, many on a session's
/// first call, are not the feed's cost.
fn events_buffers(node: &serde_json::Value) -> u64 {
    let total = |n: &serde_json::Value| {
        n["Shared Hit Blocks"].as_u64().unwrap() + n["Shared Read Blocks"].as_u64().unwrap()
    };
    let children = node["Plans"].as_array().cloned().unwrap_or_default();
    let own = total(node).saturating_sub(children.iter().map(total).sum());
    let mine = if node["Relation Name"] == "events" {
        own
    } else {
        0
    };
    mine + children.iter().map(events_buffers).sum::<u64>()
}

async fn page_buffers(store: &PostgresStore, after: GlobalPosition) -> u64 {
    let (commit, seq) = after.to_parts();
    let binds = [
        ("$1", "bigint", commit.to_string()),
        ("$2", "bigint", seq.to_string()),
        ("$3", "bigint", PAGE.to_string()),
    ];
    buffers(store, "read_all", &binds).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_page_costs_the_same_far_from_the_head_as_near_it() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let q = schema.schema().quoted();
    let per = EVENTS / TRANSACTIONS;
    for t in 0..TRANSACTIONS {
        let fill = format!(
            "INSERT INTO {q}.events (stream_id, stream_version, event_id, event_type, \
                                     schema_version, payload_json, metadata) \
             SELECT 'stream-{t}-' || (g % 100), g / 100 + 1, gen_random_uuid(), 'Filled', 1, \
                    jsonb_build_object('n', g), '{{}}' \
             FROM generate_series(0, {per} - 1) AS g"
        );
        sqlx::query(AssertSqlSafe(fill))
            .execute(store.pool())
            .await
            .unwrap();
    }
    sqlx::query(AssertSqlSafe(format!("VACUUM ANALYZE {q}.events")))
        .execute(store.pool())
        .await
        .unwrap();

    let first = store.read_all(GlobalPosition::START, 1).await.unwrap()[0].position;
    let mut near_head = first;
    loop {
        let page = store.read_all(near_head, 10_000).await.unwrap();
        if page.len() < 10_000 {
            let back = page.len().saturating_sub(PAGE as usize + 1);
            near_head = page.get(back).map_or(near_head, |e| e.position);
            break;
        }
        near_head = page.last().unwrap().position;
    }

    let far = page_buffers(&store, first).await;
    let near = page_buffers(&store, near_head).await;
    // A page of 1,000 small events spans a few dozen table pages; a scan
    // of the 199,000 events after the first page would touch thousands.
    assert!(
        far <= 2 * near + 20,
        "a page far from the head touched {far} buffers, one near it {near}"
    );
    let head = buffers(&store, "head_position", &[]).await;
    assert!(head <= 20, "finding the head touched {head} buffers");
    let past_head = page_buffers(&store, store.head_position().await.unwrap().unwrap()).await;
    assert!(
        past_head <= 20,
        "an empty page at the head touched {past_head} buffers"
    );
}
