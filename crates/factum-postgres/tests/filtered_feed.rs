//! The PostgreSQL feed read through a filter: its page stops at the feed's
//! horizon like an unfiltered one, so an open appending transaction's
//! matching event, committed later, is still found by a reader that
//! resumed after `scanned_to` (it is never skipped), while the reader did
//! move past the events below the horizon that did not match.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{
    EventAppender, EventData, EventFilter, EventReader, ExpectedVersion, GlobalPosition,
    StreamAppend,
};
use sqlx::Connection;

mod common;

use common::feed::{impatient, stream};

fn typed(kind: &str) -> EventData {
    EventData::json(kind, b"{}".to_vec())
}

#[tokio::test]
async fn a_match_held_in_an_open_transaction_is_not_skipped() {
    let (store, _schema) = impatient().await;
    let rare = EventFilter::all().event_types(["Rare"]);
    store
        .append(
            &stream("common-1"),
            ExpectedVersion::Any,
            vec![typed("Common")],
        )
        .await
        .unwrap();

    // A transaction appends the match and stays open; others append after.
    let mut conn = store.pool().acquire().await.unwrap().detach();
    let mut held = conn.begin().await.unwrap();
    let append = StreamAppend::new(stream("rare-1"), ExpectedVersion::Any, vec![typed("Rare")]);
    store.append_in(&mut held, vec![append]).await.unwrap();
    for _ in 0..3 {
        store
            .append(
                &stream("common-2"),
                ExpectedVersion::Any,
                vec![typed("Common")],
            )
            .await
            .unwrap();
    }

    let page = store
        .read_feed(GlobalPosition::START, 10, &rare)
        .await
        .unwrap();
    assert!(
        page.events.is_empty(),
        "the match is not committed: {page:?}"
    );
    assert!(page.at_end);
    let first = store.read_all(GlobalPosition::START, 10).await.unwrap();
    assert_eq!(first.len(), 1, "the feed stops at the open transaction");
    let scanned = page
        .scanned_to
        .expect("the reader moved past the first event");
    assert!(scanned >= first[0].position);
    let after = page.next_after(GlobalPosition::START);

    held.commit().await.unwrap();
    let page = store.read_feed(after, 10, &rare).await.unwrap();
    assert_eq!(
        page.events.len(),
        1,
        "found after the commit, not skipped: {page:?}"
    );
    assert_eq!(page.events[0].stream_id.as_str(), "rare-1");
    let common = EventFilter::all().event_types(["Common"]);
    let rest = store.read_feed(after, 10, &common).await.unwrap();
    assert_eq!(
        rest.events.len(),
        3,
        "the later commons, not the first one again"
    );
}
