//! Two stores on one file, as two processes would open it: their appends
//! interleave through SQLite's write lock, and the feed stays final.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, ReadOptions, StreamId,
};
use factum_sqlite::SqliteStore;

const WRITERS_PER_STORE: u64 = 4;
const APPENDS_PER_WRITER: u64 = 15;

fn event(writer: u64, i: u64) -> EventData {
    EventData::json("Raced", format!(r#"{{"w":{writer},"i":{i}}}"#).into_bytes())
}

/// Appends `APPENDS_PER_WRITER` events to `stream` with exact versions,
/// retrying on conflict.
async fn exact_writer(store: Arc<SqliteStore>, stream: StreamId, writer: u64) {
    for i in 0..APPENDS_PER_WRITER {
        loop {
            let current = store.stream_version(&stream).await.expect("version");
            let expected = current.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            match store
                .append(&stream, expected, vec![event(writer, i)])
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_version_conflict() => tokio::task::yield_now().await,
                Err(e) => panic!("writer {writer}: unexpected error {e}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_append_contiguously_and_feed_stays_final() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = Arc::new(SqliteStore::open(&path).await.unwrap());
    let b = Arc::new(SqliteStore::open(&path).await.unwrap());
    let shared = StreamId::new("shared-1").unwrap();
    let total = 2 * WRITERS_PER_STORE * APPENDS_PER_WRITER;

    // A feed reader on store b, polling while both stores write, until it
    // finds nothing new after the writers finished.
    let writers_done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (b, writers_done) = (b.clone(), writers_done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = GlobalPosition::START;
            loop {
                let finished = writers_done.load(Ordering::SeqCst);
                let page = b.read_all(after, 7).await.unwrap();
                match page.last() {
                    Some(last) => after = last.position,
                    None if finished => return seen,
                    None => tokio::task::yield_now().await,
                }
                seen.extend(page.into_iter().map(|e| e.position));
            }
        })
    };
    let mut writers = Vec::new();
    for writer in 0..2 * WRITERS_PER_STORE {
        let store = if writer % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        writers.push(tokio::spawn(exact_writer(store, shared.clone(), writer)));
    }
    for w in writers {
        w.await.unwrap();
    }
    writers_done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    for store in [&a, &b] {
        let read = store
            .read_stream(&shared, ReadOptions::all())
            .await
            .unwrap();
        let versions: Vec<u64> = read.iter().map(|e| e.stream_version).collect();
        assert_eq!(versions, (1..=total).collect::<Vec<_>>());
        let mut payloads: Vec<_> = read.iter().map(|e| e.payload.clone()).collect();
        payloads.sort();
        payloads.dedup();
        assert_eq!(payloads.len() as u64, total, "an event was doubled or lost");
    }
    let feed: Vec<GlobalPosition> = a
        .read_all(GlobalPosition::START, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    let expected: Vec<GlobalPosition> = (1..=total)
        .map(|n| GlobalPosition::from_parts(0, n))
        .collect();
    assert_eq!(feed, expected, "positions must be 1..=n with no gap");
    assert_eq!(
        seen, feed,
        "the polling reader must see the feed in order, missing nothing"
    );
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_keys_race_across_two_stores() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let a = Arc::new(SqliteStore::open(&path).await.unwrap());
    let b = Arc::new(SqliteStore::open(&path).await.unwrap());
    let mut tasks = Vec::new();
    for task in 0..8u64 {
        let store = if task % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let stream = StreamId::new(format!("pay-{task}")).unwrap();
            let once = event(task, 0).with_idempotency_key("payment-42");
            store
                .append(&stream, ExpectedVersion::Any, vec![once])
                .await
                .unwrap()
        }));
    }
    let mut written = 0;
    let mut positions = Vec::new();
    for task in tasks {
        let result = task.await.unwrap();
        if !result.is_duplicate() {
            written += 1;
        }
        positions.push(result.events[0].position());
    }
    assert_eq!(written, 1, "exactly one store may write the key");
    positions.dedup();
    assert_eq!(
        positions.len(),
        1,
        "every duplicate must point at the original"
    );
    assert_eq!(a.head_position().await.unwrap(), Some(positions[0]));
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_opening_a_new_file_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opened-at-once.db");
    let opens: Vec<_> = (0..4)
        .map(|_| tokio::spawn(SqliteStore::open(path.clone())))
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap().expect("every concurrent open succeeds"));
    }
    let s = StreamId::new("opened-1").unwrap();
    for (i, store) in stores.iter().enumerate() {
        let result = store
            .append(&s, ExpectedVersion::Any, vec![event(i as u64, 0)])
            .await
            .unwrap();
        assert_eq!(result.current_version, Some(i as u64 + 1));
    }
    for store in &stores {
        store.close().await;
    }
}
