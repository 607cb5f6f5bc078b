//! A sparse filter finds its page of the feed through an index that the
//! filter leads, not by walking the feed to its page's last match: on
//! 100,000 events (after ANALYZE) of which 1% match, `EXPLAIN (ANALYZE,
//! FORMAT JSON)` of the statement the store sends, with the store's binds,
//! shows the event-type index for a type filter (alone or with
//! categories) and the category index for a category filter, no
//! sequential scan of the events, and at most a fourth of the rows
//! that walking would read (a bounded walk comes first, which is where a
//! dense filter finds its page: that too is checked). Both the plan the
//! server makes for the binds and the generic plan that it may switch to
//! for a statement prepared long ago (as sqlx's are) are checked. Rows
//! read, not times: the test is deterministic.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{EventFilter, EventReader, GlobalPosition};
use factum_postgres::PostgresStore;
use factum_postgres::testing::{TestSchema, statement_text};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection};

/// Events in the table, written by this many transactions.
const EVENTS: u64 = 100_000;
const TRANSACTIONS: u64 = 10;
/// The page asked for.
const PAGE: u64 = 100;

/// Fills the store's table with rows like the store's own: streams
/// `cat<k>-<n>-<t>` of 50 categories with types `Type<k>` of 50, except
/// 1% of the events in category `rare` and 1% of type `Rare`, half of
/// those in category `rare` (0.5% match both). Each event carries the tag
/// `group:<k>` of 50, and 1% also `group:rare` (`event_tags` filled as
/// the store fills it).
async fn fill(store: &PostgresStore, q: &str) {
    let per = EVENTS / TRANSACTIONS;
    for t in 0..TRANSACTIONS {
        let fill = format!(
            "INSERT INTO {q}.events (stream_id, stream_version, event_id, event_type, \
                                     schema_version, payload_json, metadata, tags) \
             SELECT CASE WHEN g % 100 = 37 THEN 'rare' ELSE 'cat' || (g % 50) END \
                    || '-' || (g % 1000) || '-' || {t}, \
                    g / 1000 + 1, gen_random_uuid(), \
                    CASE WHEN g % 200 IN (111, 137) THEN 'Rare' \
                         ELSE 'Type' || (g % 50) END, \
                    1, jsonb_build_object('n', g), '{{}}', \
                    CASE WHEN g % 100 = 53 THEN ARRAY['group:' || (g % 50), 'group:rare'] \
                         ELSE ARRAY['group:' || (g % 50)] END \
             FROM generate_series(0, {per} - 1) AS g; \
             INSERT INTO {q}.event_tags (tag, transaction_id, seq) \
             SELECT t.tag, e.transaction_id, e.seq \
             FROM {q}.events AS e, unnest(e.tags) AS t (tag) \
             WHERE e.transaction_id = pg_current_xact_id()"
        );
        let mut tx = store.pool().begin().await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(fill))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    sqlx::query(AssertSqlSafe(format!("VACUUM ANALYZE {q}.events")))
        .execute(store.pool())
        .await
        .unwrap();
}

/// Every node of the plan tree under `node`.
fn nodes(node: &Value) -> Vec<&Value> {
    let mut all = vec![node];
    for child in node["Plans"].as_array().into_iter().flatten() {
        all.extend(nodes(child));
    }
    all
}

/// What a plan shows about the events table.
#[derive(Debug)]
struct Shown {
    /// Indexes on the events (and their tags) that nodes which ran scanned.
    indexes: Vec<String>,
    /// Node types of the scans of the events, run or not.
    scans: Vec<String>,
    /// Rows of the events table that the scans which ran read: those
    /// returned or removed by a filter or a recheck, except for index-only
    /// scans, which read the table only for the rows whose visibility the
    /// index cannot tell.
    rows_read: f64,
}

fn shown(plan: &Value) -> Shown {
    let mut shown = Shown {
        indexes: Vec::new(),
        scans: Vec::new(),
        rows_read: 0.0,
    };
    for node in nodes(&plan[0]["Plan"]) {
        let tags = node["Relation Name"] == "event_tags";
        if node["Relation Name"] != "events" && !tags && node["Node Type"] != "Bitmap Index Scan" {
            continue;
        }
        let loops = node["Actual Loops"].as_f64().unwrap();
        let field = |name: &str| node[name].as_f64().unwrap_or(0.0);
        shown
            .scans
            .push(node["Node Type"].as_str().unwrap().to_owned());
        if let (Some(index), true) = (node["Index Name"].as_str(), loops > 0.0) {
            shown.indexes.push(index.to_owned());
        }
        if node["Node Type"] == "Index Only Scan" {
            shown.rows_read += field("Heap Fetches");
        } else if node["Relation Name"] == "events" && !tags {
            shown.rows_read += loops
                * (field("Actual Rows")
                    + field("Rows Removed by Filter")
                    + field("Rows Removed by Index Recheck"));
        }
    }
    shown
}

/// The binds the store sends for a first page through `filter`.
fn binds(filter: &EventFilter) -> (Option<&[String]>, Option<&[String]>) {
    (filter.event_type_names(), filter.category_names())
}

/// The tags the store binds, with the statement it sends for `filter`.
fn tagged(filter: &EventFilter) -> (&'static str, Option<Vec<String>>) {
    match filter.tag_names() {
        Some(tags) => (
            "read_feed_tagged",
            Some(tags.iter().map(|t| t.as_str().to_owned()).collect()),
        ),
        None => ("read_feed", None),
    }
}

/// The plan the server makes for the store's statement with the store's
/// binds, run.
async fn custom_plan(store: &PostgresStore, filter: &EventFilter) -> Value {
    let (statement, tags) = tagged(filter);
    let sql = statement_text(store, statement).unwrap();
    let (types, categories) = binds(filter);
    let query = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) {sql}"
    )))
    .bind(0_i64)
    .bind(0_i64)
    .bind(PAGE as i64)
    .bind(types)
    .bind(categories);
    let query = match tags {
        Some(tags) => query.bind(tags),
        None => query,
    };
    query.fetch_one(store.pool()).await.unwrap()
}

/// A text[] literal of `names`, or NULL (test names need no escaping).
fn array(names: Option<&[String]>) -> String {
    names.map_or("NULL".to_owned(), |names| {
        let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        format!("ARRAY[{}]::text[]", quoted.join(", "))
    })
}

/// The generic plan of the store's statement (the one a server may keep
/// using for a statement prepared and run many times), run with the
/// store's binds.
async fn generic_plan(store: &PostgresStore, filter: &EventFilter) -> Value {
    let (statement, tags) = tagged(filter);
    let sql = statement_text(store, statement).unwrap();
    let (types, categories) = binds(filter);
    let (tag_param, tag_arg) = match &tags {
        Some(tags) => (", text[]", format!(", {}", array(Some(tags)))),
        None => ("", String::new()),
    };
    let mut conn = store.pool().acquire().await.unwrap().detach();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "SET plan_cache_mode = force_generic_plan; \
         PREPARE feed_page (bigint, bigint, bigint, text[], text[]{tag_param}) AS {sql}"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let plan = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE feed_page (0, 0, {PAGE}, {}, {}{tag_arg})",
        array(types),
        array(categories)
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    plan
}

/// Rows of the events a plan may read for a page found through an
/// index: the walk (at most 20 rows per event asked for; it is 4), the positions read
/// from the index (for types and categories together, up to the 1,000
/// events of the type, whose categories are checked), the page's rows,
/// and the head and pending look-ups. Walking the feed to the page's last
/// match reads 10,000 rows (20,000 for types and categories together).
const INDEXED_ROWS: f64 = (20 + 10 + 1) as f64 * PAGE as f64 + 10.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_filter_kind_reads_its_page_through_an_index() {
    let (store, schema) = TestSchema::store().await.unwrap();
    fill(&store, &schema.schema().quoted()).await;
    let kinds = [
        (
            "event types",
            EventFilter::all().event_types(["Rare"]),
            "events_event_type_idx",
        ),
        (
            "stream categories",
            EventFilter::all().categories(["rare"]),
            "events_category_idx",
        ),
        (
            "event types and categories",
            EventFilter::all()
                .event_types(["Rare"])
                .categories(["rare"]),
            "events_event_type_idx",
        ),
        (
            "a category holding '-'",
            // Streams rare-37-<t>: 100 events.
            EventFilter::all().categories(["rare-37"]),
            "events_category_idx",
        ),
    ];
    let tags = |t: &[&str]| {
        t.iter()
            .map(|t| factum_core::Tag::new(t).unwrap())
            .collect::<Vec<_>>()
    };
    let kinds = kinds.into_iter().chain([
        (
            "tags",
            EventFilter::all().tags(tags(&["group:rare"])),
            "event_tags_pkey",
        ),
        (
            "tags and types",
            EventFilter::all()
                .tags(tags(&["group:rare", "group:3"]))
                .event_types(["Type3"]),
            "event_tags_pkey",
        ),
    ]);
    for (kind, filter, index) in kinds {
        // The page is full: the plan is that of a read that found its page.
        let page = store
            .read_feed(GlobalPosition::START, PAGE as usize, &filter)
            .await
            .unwrap();
        assert_eq!(page.events.len(), PAGE as usize, "{kind}");
        for (how, plan) in [
            ("custom", custom_plan(&store, &filter).await),
            ("generic", generic_plan(&store, &filter).await),
        ] {
            let shown = shown(&plan);
            assert!(
                shown.indexes.iter().any(|i| i == index),
                "{kind}, {how} plan: {index} is not used: {shown:?}\n{plan:#}"
            );
            assert!(
                !shown.scans.iter().any(|s| s == "Seq Scan"),
                "{kind}, {how} plan: a sequential scan of the events: {shown:?}\n{plan:#}"
            );
            assert!(
                shown.rows_read <= INDEXED_ROWS,
                "{kind}, {how} plan read {} rows of the events: {shown:?}\n{plan:#}",
                shown.rows_read
            );
        }
    }
}

/// A filter that lets most events through finds its page by walking the
/// feed, a few rows past the page's last event, and reads no index of the
/// filter's: going through 25 types' indexes would read 25 pages' worth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dense_filter_walks_the_feed() {
    let (store, schema) = TestSchema::store().await.unwrap();
    fill(&store, &schema.schema().quoted()).await;
    let half: Vec<String> = (0..25).map(|k| format!("Type{k}")).collect();
    let filter = EventFilter::all().event_types(half);
    for (how, plan) in [
        ("custom", custom_plan(&store, &filter).await),
        ("generic", generic_plan(&store, &filter).await),
    ] {
        let shown = shown(&plan);
        assert!(
            !shown.indexes.iter().any(|i| i == "events_event_type_idx"),
            "{how} plan: {shown:?}\n{plan:#}"
        );
        assert!(
            !shown.scans.iter().any(|s| s == "Seq Scan"),
            "{how} plan: a sequential scan of the events: {shown:?}\n{plan:#}"
        );
        // About 2 rows per match walked, the page's rows, the look-ups.
        let bound = 4.0 * PAGE as f64;
        assert!(
            shown.rows_read <= bound,
            "{how} plan read {} rows of the events: {shown:?}\n{plan:#}",
            shown.rows_read
        );
    }
}
