//! A writer process killed with SIGKILL in the middle of its appends, 50
//! times, against one database file, while this process keeps appending to
//! the same file. This test binary runs itself again as the child writer,
//! which appends without pause (several streams per `append_many`, large
//! single-stream `append`s, an idempotency key on every event) until it is
//! killed at a random moment, sometimes while it is still opening the file.
//!
//! After every kill, a fresh store opens the file and checks it: `PRAGMA
//! integrity_check` is ok, the feed's positions run 1..=n, every append is
//! there whole or not at all (each event carries its append's id, size and
//! index), each stream's versions are contiguous, the killed child's
//! appends form a prefix of the ones it tried, and every append this process
//! was told succeeded is there. This process's appends never fail.
//!
//! The seed is printed; `FACTUM_CRASH_SEED=<n>` replays a run's choices
//! (though not the kill's exact moment in the child's work).
//!
//! `harness = false`: this file has its own `main`, which prints the usual
//! test lines.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use factum_conformance::harness::{runtime, single_test};
use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, RecordedEvent,
    StreamAppend, StreamId,
};
use factum_sqlite::SqliteStore;
use serde_json::json;
use sqlx::Row;

const TEST_NAME: &str = "killed_writers_leave_whole_appends";
/// Set in the child's environment: the database file to write to.
const CHILD_DB: &str = "FACTUM_SQLITE_CRASH_DB";
/// Set in the child's environment: the child's round, which names its appends.
const CHILD_ROUND: &str = "FACTUM_SQLITE_CRASH_ROUND";
/// Replays a run's random choices.
const SEED: &str = "FACTUM_CRASH_SEED";
/// How many child writers are killed.
const KILLS: u32 = 50;
/// Feed page size of the checks.
const PAGE: usize = 2_000;

fn main() {
    if let (Ok(path), Ok(round)) = (std::env::var(CHILD_DB), std::env::var(CHILD_ROUND)) {
        runtime().block_on(child(Path::new(&path), &round));
        return;
    }
    single_test(TEST_NAME, || runtime().block_on(parent()));
}

fn stream(name: String) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

/// One append: its id (`<writer><round>-<n>`) and what it writes. Every
/// event's payload names the append, the append's size and the event's
/// index in it; its idempotency key is `<id>/<index>`.
struct Planned {
    id: String,
    appends: Vec<StreamAppend>,
}

impl Planned {
    /// A random append by `writer` (`"c"` or `"p"`): either one stream with
    /// 20..=150 events (a single-stream `append`), or 2..=4 streams with
    /// 1..=6 events each (an `append_many`).
    fn random(rng: &mut fastrand::Rng, writer: &str, id: String) -> Self {
        let mut sizes: Vec<(usize, usize)> = if rng.u8(..4) == 0 {
            vec![(rng.usize(..6), rng.usize(20..=150))]
        } else {
            let mut streams: Vec<usize> = (0..6).collect();
            rng.shuffle(&mut streams);
            let count = rng.usize(2..=4);
            streams[..count]
                .iter()
                .map(|&s| (s, rng.usize(1..=6)))
                .collect()
        };
        sizes.sort_unstable();
        let size: usize = sizes.iter().map(|(_, n)| n).sum();
        let mut index = 0;
        let appends = sizes
            .into_iter()
            .map(|(s, n)| {
                let events = (0..n)
                    .map(|_| {
                        let payload = json!({"append": id, "size": size, "index": index});
                        let key = format!("{id}/{index}");
                        index += 1;
                        EventData::json("Wrote", payload.to_string().into_bytes())
                            .with_idempotency_key(key)
                    })
                    .collect();
                StreamAppend::new(
                    stream(format!("{writer}-{s}")),
                    ExpectedVersion::Any,
                    events,
                )
            })
            .collect();
        Self { id, appends }
    }

    /// Makes the append: a one-stream plan through `append`, others through
    /// `append_many`.
    async fn run(self, store: &SqliteStore) -> factum_core::Result<()> {
        let mut appends = self.appends;
        if appends.len() == 1
            && let Some(one) = appends.pop()
        {
            store
                .append(&one.stream_id, one.expected, one.events)
                .await?;
        } else {
            store.append_many(appends).await?;
        }
        Ok(())
    }
}

/// The child: opens the file, says so, and appends until it is killed.
async fn child(path: &Path, round: &str) {
    let store = SqliteStore::open(path)
        .await
        .expect("the child opens the store");
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    let mut rng = fastrand::Rng::new();
    for n in 0.. {
        let plan = Planned::random(&mut rng, "c", format!("c{round}-{n}"));
        plan.run(&store).await.expect("the child appends");
    }
}

/// This process's writer: appends until `stop`, and returns the ids and
/// sizes of the appends that succeeded. Any failure fails the test.
async fn keep_appending(
    store: SqliteStore,
    round: u32,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut acknowledged = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let plan = Planned::random(&mut rng, "p", format!("p{round}-{n}"));
        let id = plan.id.clone();
        if let Err(e) = plan.run(&store).await {
            panic!("round {round}: this process's append {id} failed: {e}");
        }
        acknowledged.push(id);
    }
    acknowledged
}

fn spawn_child(path: &Path, round: u32) -> Child {
    Command::new(std::env::current_exe().expect("this test's path"))
        .env(CHILD_DB, path)
        .env(CHILD_ROUND, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child starts")
}

/// Lets the child run for a random while (some kills land while it opens
/// the file), then kills it with SIGKILL. Returns whether it had opened the
/// store.
fn run_and_kill(child: &mut Child, rng: &mut fastrand::Rng) -> bool {
    let mut opened = false;
    if rng.u8(..10) == 0 {
        std::thread::sleep(Duration::from_millis(rng.u64(..15)));
    } else {
        let mut line = String::new();
        let out = child.stdout.as_mut().expect("child stdout");
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("the child reports");
        assert_eq!(line.trim(), "ready", "the child failed to open the store");
        opened = true;
        std::thread::sleep(Duration::from_millis(rng.u64(3..40)));
    }
    if let Some(status) = child.try_wait().expect("the child's status") {
        panic!("the child writer stopped before it was killed: {status}");
    }
    child.kill().expect("SIGKILL the child");
    child.wait().expect("the child is reaped");
    opened
}

async fn parent() {
    let started = Instant::now();
    let seed = std::env::var(SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("{TEST_NAME}: seed {seed} (replay with {SEED}={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("crash.db");
    let store = SqliteStore::open(&path).await.expect("the parent opens");
    let mut acknowledged = Vec::new();
    let mut feed = Feed::default();
    let mut opened = 0;
    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn(keep_appending(
            store.clone(),
            round,
            rng.u64(..),
            stop.clone(),
        ));
        let mut child = spawn_child(&path, round);
        let mut kill_rng = fastrand::Rng::with_seed(rng.u64(..));
        let killed = tokio::task::spawn_blocking(move || run_and_kill(&mut child, &mut kill_rng));
        opened += u32::from(killed.await.expect("the killer thread"));
        // This process goes on appending just after the crash too.
        tokio::time::sleep(Duration::from_millis(rng.u64(..10))).await;
        stop.store(true, Ordering::Relaxed);
        acknowledged.extend(writer.await.expect("this process's writer"));
        feed.check(&path, round, &acknowledged).await;
    }
    store.close().await;
    // Each round read only the events after the previous round's; now the
    // whole feed again, from scratch.
    let mut whole = Feed::default();
    whole.check(&path, KILLS, &acknowledged).await;
    assert_eq!(whole.events, feed.events);
    eprintln!(
        "{TEST_NAME}: {KILLS} kills ({opened} after the child had opened the store), \
         {} appends of this process, {} events, in {:.1?}",
        acknowledged.len(),
        whole.events,
        started.elapsed()
    );
}

/// One append as found in the feed.
struct Found {
    size: u64,
    /// Indexes seen, in feed order.
    indexes: Vec<u64>,
    first: u64,
    last: u64,
}

/// What the checks found in the feed so far.
#[derive(Default)]
struct Feed {
    /// Events read, which are positions 1..=events.
    events: u64,
    /// Every append found, by id.
    appends: HashMap<String, Found>,
    /// Each stream's version.
    versions: HashMap<String, u64>,
}

impl Feed {
    /// Opens the file afresh after the kill of `round`'s child, with both
    /// writers stopped, and checks it; reads the events after those read
    /// before. `acknowledged` are this process's successful appends so far.
    async fn check(&mut self, path: &Path, round: u32, acknowledged: &[String]) {
        let store = SqliteStore::open(path)
            .await
            .unwrap_or_else(|e| panic!("round {round}: the file does not open: {e}"));
        {
            let mut conn = store.read_connection().await.expect("a connection");
            let rows = sqlx::query("PRAGMA integrity_check")
                .fetch_all(&mut *conn)
                .await
                .expect("integrity_check runs");
            let report: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            assert_eq!(report, ["ok"], "round {round}: integrity_check");
        }
        let mut after = GlobalPosition::from_parts(0, self.events);
        loop {
            let page = store.read_all(after, PAGE).await.expect("the feed reads");
            let Some(last) = page.last() else { break };
            after = last.position;
            for event in &page {
                self.add(event, round);
            }
        }
        for (id, found) in &self.appends {
            let mut indexes = found.indexes.clone();
            indexes.sort_unstable();
            assert_eq!(
                indexes,
                (0..found.size).collect::<Vec<_>>(),
                "round {round}: append {id} is not whole"
            );
            assert_eq!(
                found.last - found.first + 1,
                found.size,
                "round {round}: append {id} is interleaved with another"
            );
        }
        for id in acknowledged {
            assert!(
                self.appends.contains_key(id),
                "round {round}: acknowledged append {id} is missing"
            );
        }
        // A child makes one append after the other: those it committed are
        // c<round>-0 up to some n, without a hole.
        for r in 0..=round.min(KILLS - 1) {
            let committed = (0..)
                .take_while(|n| self.appends.contains_key(&format!("c{r}-{n}")))
                .count();
            let prefix = format!("c{r}-");
            let all = self.appends.keys().filter(|id| id.starts_with(&prefix));
            assert_eq!(
                committed,
                all.count(),
                "round {r}: the child's appends have a hole"
            );
        }
        store.close().await;
    }

    /// Takes in the next event of the feed.
    fn add(&mut self, event: &RecordedEvent, round: u32) {
        self.events += 1;
        let at = self.events;
        assert_eq!(
            event.position,
            GlobalPosition::from_parts(0, at),
            "round {round}: the feed has a gap"
        );
        let version = self
            .versions
            .entry(event.stream_id.to_string())
            .or_default();
        *version += 1;
        assert_eq!(
            event.stream_version, *version,
            "round {round}: versions of {} are not contiguous",
            event.stream_id
        );
        let payload: serde_json::Value =
            serde_json::from_slice(&event.payload).expect("a JSON payload");
        let id = payload["append"].as_str().expect("an append id").to_owned();
        let index = payload["index"].as_u64().expect("an index");
        assert_eq!(
            event.idempotency_key.as_deref(),
            Some(format!("{id}/{index}").as_str())
        );
        let found = self.appends.entry(id).or_insert(Found {
            size: payload["size"].as_u64().expect("a size"),
            indexes: Vec::new(),
            first: at,
            last: at,
        });
        found.indexes.push(index);
        found.last = at;
    }
}
