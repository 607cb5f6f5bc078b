//! Appends dropped part-way (a timeout, a `select!` that lost) leave the
//! store consistent and usable: every committed append is whole, versions
//! stay contiguous, and the writer connection is not left in a transaction.

use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, ReadOptions, StreamId,
};
use factum_sqlite::SqliteStore;
use std::time::Duration;

const BATCH: u64 = 5;

fn batch(round: u64) -> Vec<EventData> {
    (0..BATCH)
        .map(|i| {
            EventData::json(
                "Cut",
                format!(r#"{{"round":{round},"i":{i}}}"#).into_bytes(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_dropped_midway_leave_whole_batches_and_a_usable_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cancel.db"))
        .await
        .unwrap();
    let s = StreamId::new("cut-1").unwrap();
    let mut finished = 0;
    for round in 0..60u64 {
        // A timeout that grows each round cuts the append at a different
        // stage: queued for the writer, in BEGIN, mid-insert, or in COMMIT.
        // Whatever the stage, the invariants checked below must hold.
        let limit = Duration::from_micros(round * 4);
        if let Ok(result) =
            tokio::time::timeout(limit, store.append(&s, ExpectedVersion::Any, batch(round))).await
        {
            result.expect("an append that finishes succeeds");
            finished += 1;
        }
    }
    let last = store
        .append(
            &s,
            ExpectedVersion::Any,
            vec![EventData::json("Last", b"{}".to_vec())],
        )
        .await
        .expect("the store still appends after cancelled appends");
    let events = store.read_stream(&s, ReadOptions::all()).await.unwrap();
    let n = events.len() as u64;
    assert_eq!(last.current_version, Some(n));
    assert_eq!(
        events.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    assert_eq!((n - 1) % BATCH, 0, "a cancelled append was partly written");
    assert!((n - 1) / BATCH >= finished, "a finished append was lost");
    for chunk in events[..events.len() - 1].chunks(BATCH as usize) {
        let round: Vec<u64> = chunk
            .iter()
            .map(|e| {
                serde_json::from_slice::<serde_json::Value>(&e.payload).unwrap()["round"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert!(
            round.iter().all(|r| *r == round[0]),
            "batches interleaved: {round:?}"
        );
    }
    let feed = store.read_all(GlobalPosition::START, 10_000).await.unwrap();
    assert_eq!(feed.len() as u64, n);
    store.close().await;
}
