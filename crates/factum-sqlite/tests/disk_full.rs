//! A full disk. SQLite's `max_page_count`, set on every connection through
//! the store's connect options, caps the file, and a table of filler rows
//! (written by a connection of the test's own) takes up every free page:
//! the file is full, as on a full disk (both give `SQLITE_FULL`). Appends
//! then fail with a backend error naming the append and saying the disk is
//! full, write nothing, and leave reads working; once the filler rows are
//! deleted their pages are free again, and the same store appends again
//! with contiguous versions and positions.

use factum_core::{
    Error, EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, ReadOptions,
    StreamAppend, StreamId,
};
use factum_sqlite::SqliteStore;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

/// The file's cap, in pages (4 KiB each): room for the schema and a few
/// events.
const MAX_PAGES: &str = "64";
/// SQLite's primary result code for a full database or disk.
const SQLITE_FULL: i64 = 13;

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

/// `count` events whose 2 KiB payloads need new pages.
fn events(tag: &str, count: usize) -> Vec<EventData> {
    (0..count)
        .map(|i| {
            let body = format!(r#"{{"tag":"{tag}","i":{i},"pad":"{}"}}"#, "x".repeat(2048));
            EventData::json("Padded", body.into_bytes())
        })
        .collect()
}

/// Inserts 4 KiB filler rows on `conn` until the file is full.
async fn fill(conn: &mut SqliteConnection) -> usize {
    sqlx::query("CREATE TABLE IF NOT EXISTS filler (b BLOB NOT NULL)")
        .execute(&mut *conn)
        .await
        .expect("the filler table");
    for rows in 0.. {
        match sqlx::query("INSERT INTO filler VALUES (zeroblob(4096))")
            .execute(&mut *conn)
            .await
        {
            Ok(_) => {}
            Err(e) if sqlite_code(&e) == Some(SQLITE_FULL) => return rows,
            Err(e) => panic!("filling the file: {e}"),
        }
    }
    unreachable!("the loop only ends by returning")
}

/// The primary SQLite result code of a database error.
fn sqlite_code(error: &sqlx::Error) -> Option<i64> {
    match error {
        sqlx::Error::Database(db) => db.code()?.parse::<i64>().ok().map(|c| c & 0xff),
        _ => None,
    }
}

/// Asserts `error` is the backend error of `operation` caused by a full disk.
fn assert_disk_full(error: &Error, operation: &str) {
    let Error::Backend {
        backend,
        operation: failed,
        source,
    } = error
    else {
        panic!("expected a backend error, got {error:?}");
    };
    assert_eq!(*backend, "sqlite");
    assert_eq!(failed, operation);
    let sql = source
        .downcast_ref::<sqlx::Error>()
        .unwrap_or_else(|| panic!("the source is an sqlx error: {source:?}"));
    assert_eq!(sqlite_code(sql), Some(SQLITE_FULL), "{sql}");
    assert!(error.to_string().contains("full"), "{error}");
}

#[tokio::test]
async fn a_full_disk_fails_appends_whole_and_they_succeed_once_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.db");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .pragma("max_page_count", MAX_PAGES);
    let store = SqliteStore::connect_with(options.clone()).await.unwrap();
    let (a, b) = (stream("full-a"), stream("full-b"));
    store
        .append(&a, ExpectedVersion::NoStream, events("before", 2))
        .await
        .unwrap();
    let mut filler = options.connect().await.unwrap();
    assert!(fill(&mut filler).await > 0, "the file had room to fill");

    // One stream, then two at once: each fails whole.
    let error = store
        .append(&a, ExpectedVersion::Exact(2), events("one", 8))
        .await
        .unwrap_err();
    assert_disk_full(&error, "appending to stream full-a");
    let two = |a_at: u64| {
        vec![
            StreamAppend::new(b.clone(), ExpectedVersion::NoStream, events("two", 4)),
            StreamAppend::new(a.clone(), ExpectedVersion::Exact(a_at), events("two", 4)),
        ]
    };
    let error = store.append_many(two(2)).await.unwrap_err();
    assert_disk_full(&error, "appending to streams full-b, full-a");

    // Nothing of either was written, and reads work.
    assert_eq!(store.stream_version(&a).await.unwrap(), Some(2));
    assert_eq!(store.stream_version(&b).await.unwrap(), None);
    let feed = store.read_all(GlobalPosition::START, 100).await.unwrap();
    assert_eq!(feed.len(), 2);
    let read = store.read_stream(&a, ReadOptions::all()).await.unwrap();
    assert_eq!(
        read.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        [1, 2]
    );

    // Space freed: the same store appends again.
    sqlx::query("DELETE FROM filler")
        .execute(&mut filler)
        .await
        .unwrap();
    filler.close().await.unwrap();
    store
        .append(&a, ExpectedVersion::Exact(2), events("one", 8))
        .await
        .unwrap();
    store.append_many(two(10)).await.unwrap();

    let read = store.read_stream(&a, ReadOptions::all()).await.unwrap();
    assert_eq!(
        read.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        (1..=14).collect::<Vec<_>>()
    );
    let read = store.read_stream(&b, ReadOptions::all()).await.unwrap();
    assert_eq!(
        read.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        (1..=4).collect::<Vec<_>>()
    );
    let positions: Vec<GlobalPosition> = store
        .read_all(GlobalPosition::START, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    let expected: Vec<GlobalPosition> =
        (1..=18).map(|n| GlobalPosition::from_parts(0, n)).collect();
    assert_eq!(positions, expected);
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut *store.read_connection().await.unwrap())
        .await
        .unwrap();
    assert_eq!(check, "ok");
    store.close().await;
}
