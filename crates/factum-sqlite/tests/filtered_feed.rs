//! SQLite evaluates a feed filter in SQL over a bounded window of
//! positions: a sparse filter over thousands of events moves the reader
//! forward window by window and finds its one match (the plans of the
//! reads: `filtered_feed_plans.rs`).

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
