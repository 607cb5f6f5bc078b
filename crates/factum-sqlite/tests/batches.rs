//! The largest batch an append may carry goes through the chunked
//! multi-row INSERTs whole, and its retry is recognised key by key.

use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, MAX_EVENTS_PER_APPEND,
    StreamAppend, StreamId,
};
use factum_sqlite::SqliteStore;

fn keyed(count: usize) -> Vec<EventData> {
    (0..count)
        .map(|n| {
            EventData::json("Bulk", format!(r#"{{"n":{n}}}"#).into_bytes())
                .with_idempotency_key(format!("bulk-{n}"))
        })
        .collect()
}

#[tokio::test]
async fn the_largest_batch_is_written_whole_and_its_retry_is_all_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("bulk.db")).await.unwrap();
    let (a, b) = (
        StreamId::new("bulk-a").unwrap(),
        StreamId::new("bulk-b").unwrap(),
    );
    let half = MAX_EVENTS_PER_APPEND / 2;
    let mut events = keyed(MAX_EVENTS_PER_APPEND);
    let second = events.split_off(half);
    let appends = vec![
        StreamAppend::new(a.clone(), ExpectedVersion::NoStream, events),
        StreamAppend::new(b.clone(), ExpectedVersion::NoStream, second),
    ];
    let first = store.append_many(appends.clone()).await.unwrap();
    assert_eq!(first[0].current_version, Some(half as u64));
    assert_eq!(first[1].current_version, Some(half as u64));
    let positions: Vec<GlobalPosition> = first.iter().flat_map(|r| r.written_positions()).collect();
    let expected: Vec<GlobalPosition> = (1..=MAX_EVENTS_PER_APPEND as u64)
        .map(|n| GlobalPosition::from_parts(0, n))
        .collect();
    assert_eq!(positions, expected);

    let retry = store.append_many(appends).await.unwrap();
    assert!(retry.iter().all(|r| r.is_duplicate()));
    let reported: Vec<GlobalPosition> = retry
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.position()))
        .collect();
    assert_eq!(reported, expected);
    assert_eq!(store.stream_version(&a).await.unwrap(), Some(half as u64));
    let feed = store
        .read_all(GlobalPosition::START, 2 * MAX_EVENTS_PER_APPEND)
        .await
        .unwrap();
    assert_eq!(feed.len(), MAX_EVENTS_PER_APPEND);
    assert_eq!(feed[half].stream_id, b);
    assert_eq!(feed[half].stream_version, 1);
    store.close().await;
}
