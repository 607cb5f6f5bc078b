//! A filtered read of SQLite's feed reads its window of positions through
//! an index: on 100,000 events (after ANALYZE, so that the planner knows
//! how the events spread over types and streams), `EXPLAIN QUERY PLAN` of
//! the statements the store sends, with the store's binds, shows the type
//! index (`factum_events_event_type`, one range per type: it holds the
//! position after the type) for a sparse filter on event types, alone or
//! with categories, and a range of the primary key for categories alone
//! or for types dense enough to fill the page soon; never a scan of the
//! whole table. Which statement the store sends is decided by counting,
//! in the type index alone, up to a page of the window's events of the
//! types (`count_typed.sql`).

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::EventFilter;
use factum_sqlite::SqliteStore;
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteConnection;

/// The page asked for, and the window of positions a read of it looks at
/// (20 per event asked for, at least 1,000: `store/feed.rs`).
const PAGE: i64 = 100;
const WINDOW: i64 = 2_000;

/// 100,000 events like the store's own: streams `cat<k>-<n>` of 50
/// categories with types `Type<k>` of 50, except 1% of the events in
/// category `rare` and 1% of type `Rare`, half of those in category
/// `rare`.
const FILL: &str = "WITH RECURSIVE g (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 99999) \
    INSERT INTO factum_events (position, stream_id, stream_version, event_id, event_type, \
                               schema_version, format, payload, metadata, recorded_at) \
    SELECT n + 1, \
           CASE WHEN n % 100 = 37 THEN 'rare' ELSE 'cat' || (n % 50) END || '-' || (n % 1000), \
           n / 1000 + 1, randomblob(16), \
           CASE WHEN n % 200 IN (111, 137) THEN 'Rare' ELSE 'Type' || (n % 50) END, \
           1, 'json', '{}', '{}', '2024-01-01T00:00:00.000000Z' \
    FROM g";

/// A JSON array of `names`, as the store binds it.
fn json(names: Option<&[String]>) -> Option<String> {
    names.map(|names| serde_json::to_string(names).unwrap())
}

/// The file of the statement the store sends for a first page through
/// `filter`, and its text.
async fn statement(
    conn: &mut SqliteConnection,
    filter: &EventFilter,
) -> (&'static str, &'static str) {
    let primary_key = ("read_feed.sql", include_str!("../src/sql/read_feed.sql"));
    let Some(types) = json(filter.event_type_names()) else {
        return primary_key;
    };
    let typed: i64 = sqlx::query_scalar(include_str!("../src/sql/count_typed.sql"))
        .bind(0_i64)
        .bind(WINDOW)
        .bind(types)
        .bind(PAGE)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    if typed < PAGE {
        (
            "read_feed_typed.sql",
            include_str!("../src/sql/read_feed_typed.sql"),
        )
    } else {
        primary_key
    }
}

/// The details of the query plan of a filtered read `sql`, with the
/// store's binds for a first page through `filter`.
async fn plan(conn: &mut SqliteConnection, sql: &str, filter: &EventFilter) -> Vec<String> {
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .bind(0_i64)
            .bind(WINDOW)
            .bind(PAGE)
            .bind(json(filter.event_type_names()))
            .bind(json(filter.category_names()))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    rows.into_iter().map(|(_, _, _, detail)| detail).collect()
}

#[tokio::test]
async fn each_filter_kind_reads_its_window_through_an_index() {
    let store = SqliteStore::in_memory().await.unwrap();
    let mut conn = store.read_connection().await.unwrap();
    sqlx::query(FILL).execute(&mut *conn).await.unwrap();
    sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    let type_index = "SEARCH factum_events USING INDEX factum_events_event_type \
                      (event_type=? AND rowid>? AND rowid<?)";
    let primary_key = "SEARCH factum_events USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)";
    let half: Vec<String> = (0..25).map(|k| format!("Type{k}")).collect();
    let kinds = [
        (
            "event types",
            EventFilter::all().event_types(["Rare"]),
            ("read_feed_typed.sql", type_index),
        ),
        (
            "stream categories",
            EventFilter::all().categories(["rare"]),
            ("read_feed.sql", primary_key),
        ),
        (
            "event types and categories",
            EventFilter::all()
                .event_types(["Rare"])
                .categories(["rare"]),
            ("read_feed_typed.sql", type_index),
        ),
        (
            "event types most events have",
            EventFilter::all().event_types(half),
            ("read_feed.sql", primary_key),
        ),
    ];
    for (kind, filter, (file, search)) in &kinds {
        let (chosen, sql) = statement(&mut conn, filter).await;
        assert_eq!(chosen, *file, "{kind}");
        let details = plan(&mut conn, sql, filter).await;
        assert!(
            details.iter().any(|d| d == search),
            "{kind}: {search} is not in {details:#?}"
        );
        assert!(
            !details.iter().any(|d| d.starts_with("SCAN factum_events")),
            "{kind}: a scan of the whole table in {details:#?}"
        );
    }
    // The count reads the type index alone.
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {}",
        include_str!("../src/sql/count_typed.sql")
    )))
    .bind(0_i64)
    .bind(WINDOW)
    .bind(r#"["Rare"]"#)
    .bind(PAGE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let covering = "SEARCH factum_events USING COVERING INDEX factum_events_event_type \
                    (event_type=? AND rowid>? AND rowid<?)";
    assert!(rows.iter().any(|(_, _, _, d)| d == covering), "{rows:#?}");
}

/// The details of the query plan of `sql` with `binds` (integers or text).
async fn plan_of(conn: &mut SqliteConnection, sql: &str, binds: &[Option<&str>]) -> Vec<String> {
    let mut query = sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
    for bind in binds {
        query = match bind.map(str::parse::<i64>) {
            Some(Ok(n)) => query.bind(n),
            _ => query.bind(bind.map(str::to_owned)),
        };
    }
    let rows: Vec<(i64, i64, i64, String)> = query.fetch_all(&mut *conn).await.unwrap();
    rows.into_iter().map(|(_, _, _, detail)| detail).collect()
}

/// A filter with tags, and an append's condition, find their events on
/// the primary key of `factum_event_tags` (tag, then position): the
/// events carrying the tag, in feed order, not a scan of the feed.
#[tokio::test]
async fn tags_are_read_through_their_index() {
    let store = SqliteStore::in_memory().await.unwrap();
    let mut conn = store.read_connection().await.unwrap();
    sqlx::query(FILL).execute(&mut *conn).await.unwrap();
    sqlx::query(
        "INSERT INTO factum_event_tags (tag, position) \
         SELECT 'group:' || (position % 50), position FROM factum_events \
         UNION ALL \
         SELECT 'group:rare', position FROM factum_events WHERE position % 100 = 54",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    // `et` is factum_event_tags in both statements.
    let tag_index = |d: &String| d.starts_with("SEARCH et USING PRIMARY KEY (tag=? AND position>?");
    let whole_table = |d: &String| d.starts_with("SCAN e") || d.starts_with("SCAN factum_events");

    let read = plan_of(
        &mut conn,
        include_str!("../src/sql/read_feed_tagged.sql"),
        &[
            Some("0"),
            Some("9223372036854775807"),
            Some("100"),
            None,
            None,
            Some(r#"["group:rare"]"#),
        ],
    )
    .await;
    assert!(
        read.iter().any(tag_index),
        "the tag index is not read: {read:#?}"
    );
    assert!(
        !read.iter().any(whole_table),
        "a scan of the feed: {read:#?}"
    );

    let condition = plan_of(
        &mut conn,
        include_str!("../src/sql/condition_conflict.sql"),
        &[
            Some(r#"[{"types":["Type4"],"tags":["group:rare"]}]"#),
            Some("0"),
        ],
    )
    .await;
    assert!(
        condition.iter().any(tag_index),
        "the tag index is not read: {condition:#?}"
    );
    assert!(
        !condition.iter().any(whole_table),
        "a scan of the feed: {condition:#?}"
    );
}
