//! SQLite evaluates a feed filter in SQL over a bounded window of
//! positions: a sparse filter over thousands of events moves the reader
//! forward window by window and finds its one match, and the query walks
//! the primary key's range (EXPLAIN QUERY PLAN), not the whole table.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{
    EventAppender, EventData, EventFilter, EventReader, ExpectedVersion, GlobalPosition, StreamId,
};
use factum_sqlite::SqliteStore;

#[tokio::test]
async fn a_sparse_filter_moves_forward_window_by_window() {
    let store = SqliteStore::in_memory().await.unwrap();
    let common = StreamId::new("common-1").unwrap();
    for _ in 0..35 {
        let events = (0..100)
            .map(|_| EventData::json("Common", b"{}".to_vec()))
            .collect();
        store
            .append(&common, ExpectedVersion::Any, events)
            .await
            .unwrap();
    }
    let rare = StreamId::new("rare-1").unwrap();
    let written = store
        .append(
            &rare,
            ExpectedVersion::NoStream,
            vec![EventData::json("Rare", b"{}".to_vec())],
        )
        .await
        .unwrap();
    let target = written.written_positions().next().unwrap();
    let filters = [
        EventFilter::all().event_types(["Rare"]),
        EventFilter::all().categories(["rare"]),
    ];
    for filter in filters {
        let mut after = GlobalPosition::START;
        let mut empty_pages = 0;
        let found = loop {
            let page = store.read_feed(after, 1, &filter).await.unwrap();
            if let Some(event) = page.events.first() {
                break event.position;
            }
            assert!(!page.at_end, "the match lies ahead");
            let next = page.next_after(after);
            assert!(next > after, "an empty page still moves the reader");
            after = next;
            empty_pages += 1;
        };
        assert_eq!(found, target);
        assert!(
            empty_pages >= 3,
            "3,500 events take several windows: {empty_pages}"
        );
        let past = store.read_feed(found, 1, &filter).await.unwrap();
        assert!(past.at_end && past.events.is_empty());
    }
}

#[tokio::test]
async fn the_filtered_read_searches_a_range_of_the_primary_key() {
    let store = SqliteStore::in_memory().await.unwrap();
    let mut conn = store.read_connection().await.unwrap();
    let sql = format!(
        "EXPLAIN QUERY PLAN {}",
        include_str!("../src/sql/read_feed.sql")
    );
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(0_i64)
        .bind(1000_i64)
        .bind(10_i64)
        .bind(r#"["Rare"]"#)
        .bind(Option::<String>::None)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let details: Vec<&str> = plan.iter().map(|(_, _, _, d)| d.as_str()).collect();
    assert!(
        details
            .iter()
            .any(|d| d
                .contains("SEARCH factum_events USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)")),
        "{details:#?}"
    );
    assert!(
        !details.iter().any(|d| d.starts_with("SCAN factum_events")),
        "no full scan: {details:#?}"
    );
}
