//! Lazy stream reads hold no read transaction between pages.

use factum_core::{EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamId};
use factum_sqlite::SqliteStore;
use futures::StreamExt;
use sqlx::Row;

fn events(count: u64) -> Vec<EventData> {
    (0..count)
        .map(|n| EventData::json("Counted", format!(r#"{{"n":{n}}}"#).into_bytes()))
        .collect()
}

/// While a lazy read is part-way through a long stream, a passive WAL
/// checkpoint still copies every frame back into the database: the reader
/// pins no snapshot. A reader that kept one statement (and so one read
/// transaction) open across the whole stream would hold the checkpoint back.
#[tokio::test]
async fn a_paused_lazy_read_does_not_hold_back_wal_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("stream.db"))
        .await
        .unwrap();
    let long = StreamId::new("long-1").unwrap();
    store
        .append(&long, ExpectedVersion::NoStream, events(1500))
        .await
        .unwrap();

    let mut lazy = store.read_stream_events(&long, ReadOptions::all());
    let first = lazy.next().await.unwrap().unwrap();
    assert_eq!(first.stream_version, 1);

    // New frames in the WAL after the reader started.
    let other = StreamId::new("other-1").unwrap();
    store
        .append(&other, ExpectedVersion::NoStream, events(50))
        .await
        .unwrap();
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *store.read_connection().await.unwrap())
        .await
        .unwrap();
    let (busy, log, checkpointed): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(busy, 0);
    assert!(log > 0, "the appends must have written WAL frames");
    assert_eq!(
        checkpointed, log,
        "a paused lazy read held back the checkpoint"
    );

    let mut rest = Vec::new();
    while let Some(event) = lazy.next().await {
        rest.push(event.unwrap().stream_version);
    }
    assert_eq!(rest, (2..=1500).collect::<Vec<_>>());
    store.close().await;
}
