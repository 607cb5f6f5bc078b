//! Two processes append to one database file at once: this test binary runs
//! itself again as a child writer. Both open the fresh file at the same time
//! (so their migrations race too), then race appends with exact expected
//! versions on one shared stream. Afterwards the stream's versions are
//! contiguous, no event is lost or doubled, and the feed's positions run
//! 1..=n without a gap.
//!
//! `harness = false`: this file has its own `main`, which prints the usual
//! test lines.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use factum_conformance::harness::{runtime, single_test};
use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, ReadOptions, StreamId,
};
use factum_sqlite::SqliteStore;

const TEST_NAME: &str = "two_processes_append_to_one_file";
/// Set in the child's environment: the database file to write to.
const CHILD_DB: &str = "FACTUM_SQLITE_CHILD_DB";
/// Appends each process makes to the shared stream.
const APPENDS: u64 = 40;

fn main() {
    if let Ok(path) = std::env::var(CHILD_DB) {
        runtime().block_on(child(Path::new(&path)));
        return;
    }
    single_test(TEST_NAME, || runtime().block_on(parent()));
}

fn shared_stream() -> StreamId {
    StreamId::new("shared-1").expect("a valid stream id")
}

/// Appends `APPENDS` events tagged `who` to the shared stream, each with the
/// version it just read, retrying on conflict.
async fn race(store: &SqliteStore, who: &str) {
    let stream = shared_stream();
    for i in 0..APPENDS {
        loop {
            let current = store.stream_version(&stream).await.expect("version");
            let expected = current.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            let event = EventData::json(
                "Raced",
                format!(r#"{{"who":"{who}","i":{i}}}"#).into_bytes(),
            );
            match store.append(&stream, expected, vec![event]).await {
                Ok(_) => break,
                Err(e) if e.is_version_conflict() => tokio::task::yield_now().await,
                Err(e) => panic!("{who}: unexpected error {e}"),
            }
        }
    }
}

/// The child: opens the file, says so on stdout, waits for "go" on stdin,
/// races, and exits.
async fn child(path: &Path) {
    let store = SqliteStore::open(path)
        .await
        .expect("the child opens the store");
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("stdin");
    assert_eq!(line.trim(), "go");
    race(&store, "child").await;
    store.close().await;
}

async fn parent() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("two-processes.db");
    let mut child = Command::new(std::env::current_exe().expect("this test's path"))
        .env(CHILD_DB, &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child starts");
    // Opened while the child opens the same fresh file.
    let store = SqliteStore::open(&path)
        .await
        .expect("the parent opens the store");
    let mut ready = String::new();
    let mut child_out = std::io::BufReader::new(child.stdout.take().expect("child stdout"));
    child_out.read_line(&mut ready).expect("the child reports");
    assert_eq!(ready.trim(), "ready", "the child failed to open the store");
    writeln!(child.stdin.as_mut().expect("child stdin"), "go").expect("the child listens");
    race(&store, "parent").await;
    let status = child.wait().expect("the child ends");
    assert!(status.success(), "the child writer failed: {status}");

    let total = 2 * APPENDS;
    let read = store
        .read_stream(&shared_stream(), ReadOptions::all())
        .await
        .expect("read");
    let versions: Vec<u64> = read.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, (1..=total).collect::<Vec<_>>());
    let mut payloads: Vec<serde_json::Value> = read
        .iter()
        .map(|e| serde_json::from_slice(&e.payload).expect("json"))
        .collect();
    payloads.sort_by_key(|p| (p["who"].to_string(), p["i"].as_u64()));
    let mut expected: Vec<serde_json::Value> = ["child", "parent"]
        .iter()
        .flat_map(|who| (0..APPENDS).map(move |i| serde_json::json!({"who": who, "i": i})))
        .collect();
    expected.sort_by_key(|p| (p["who"].to_string(), p["i"].as_u64()));
    assert_eq!(payloads, expected, "an event was lost or doubled");
    let feed: Vec<GlobalPosition> = store
        .read_all(GlobalPosition::START, 10_000)
        .await
        .expect("feed")
        .iter()
        .map(|e| e.position)
        .collect();
    let positions: Vec<GlobalPosition> = (1..=total)
        .map(|n| GlobalPosition::from_parts(0, n))
        .collect();
    assert_eq!(feed, positions);
    store.close().await;
}
