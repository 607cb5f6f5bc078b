//! An exactly-once projection runner killed with SIGKILL at random moments,
//! 25 times, while this process keeps appending to the same file: the read
//! model (tables in the store's file) and the checkpoint always move
//! together. This test binary runs itself again as the child, which runs
//! `SqliteProjectionRunner::run` with a random page size until it is killed
//! (some kills land while it opens the file, most inside a page's
//! transaction: the handler pauses a little on every event).
//!
//! After every kill a fresh store opens the file and checks: every event up
//! to the checkpoint was handled exactly once, none after it, and each
//! stream's total is the sum of its handled events. At the end a runner in
//! this process catches up and the read model is exactly a fold of the
//! whole feed.
//!
//! `harness = false`: this file has its own `main`, which prints the usual
//! test lines. `FACTUM_CRASH_SEED=<n>` replays a run's choices.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use factum_conformance::harness::{runtime, single_test};
use factum_core::{
    BoxError, CheckpointStore, EventAppender, EventData, EventReader, ExpectedVersion,
    GlobalPosition, RecordedEvent, StreamId, TransactionalProjection,
};
use factum_sqlite::{SqliteProjectionRunner, SqliteStore};
use sqlx::SqliteConnection;

const TEST_NAME: &str = "killed_projection_runners_keep_read_model_and_checkpoint_in_step";
/// Set in the child's environment: the database file.
const CHILD_DB: &str = "FACTUM_SQLITE_PROJECTION_CRASH_DB";
/// Set in the child's environment: the child's page size.
const CHILD_BATCH: &str = "FACTUM_SQLITE_PROJECTION_CRASH_BATCH";
/// Replays a run's random choices.
const SEED: &str = "FACTUM_CRASH_SEED";
/// How many children are killed.
const KILLS: u32 = 25;
/// The projection's (and its checkpoint's) name.
const NAME: &str = "totals";

fn main() {
    if let (Ok(path), Ok(batch)) = (std::env::var(CHILD_DB), std::env::var(CHILD_BATCH)) {
        let batch = batch.parse().expect("a page size");
        runtime().block_on(child(Path::new(&path), batch));
        return;
    }
    single_test(TEST_NAME, || runtime().block_on(parent()));
}

/// Sums amounts per stream in `totals`; counts each handled event in
/// `handled`, so a double count shows.
struct Totals;

#[async_trait]
impl TransactionalProjection<SqliteConnection> for Totals {
    fn name(&self) -> &str {
        NAME
    }

    async fn handle(
        &mut self,
        tx: &mut SqliteConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let amount: i64 = std::str::from_utf8(&event.payload)?.parse()?;
        sqlx::query(
            "INSERT INTO totals (stream_id, total) VALUES (?1, ?2) \
             ON CONFLICT (stream_id) DO UPDATE SET total = total + excluded.total",
        )
        .bind(event.stream_id.as_str())
        .bind(amount)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO handled (seq, n) VALUES (?1, 1) \
             ON CONFLICT (seq) DO UPDATE SET n = n + 1",
        )
        .bind(i64::try_from(event.position.to_parts().1)?)
        .execute(&mut *tx)
        .await?;
        // Widens the window in which a kill lands inside the transaction.
        tokio::time::sleep(Duration::from_micros(300)).await;
        Ok(())
    }

    async fn reset(&mut self, tx: &mut SqliteConnection) -> Result<(), BoxError> {
        sqlx::query("DELETE FROM totals").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM handled").execute(&mut *tx).await?;
        Ok(())
    }
}

/// The child: opens the file, says so, and runs the projection until it is
/// killed.
async fn child(path: &Path, batch: usize) {
    let store = SqliteStore::open(path)
        .await
        .expect("the child opens the store");
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    let mut runner = SqliteProjectionRunner::new(store, Totals)
        .with_batch_size(batch)
        .with_poll_interval(Duration::from_millis(5));
    let stopped = runner.run().await;
    panic!("the child's runner stopped: {stopped:?}");
}

fn spawn_child(path: &Path, batch: usize) -> Child {
    Command::new(std::env::current_exe().expect("this test's path"))
        .env(CHILD_DB, path)
        .env(CHILD_BATCH, batch.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child starts")
}

/// Lets the child run for a random while (some kills land while it opens
/// the file), then kills it with SIGKILL.
fn run_and_kill(mut child: Child, rng: &mut fastrand::Rng) {
    if rng.u8(..10) == 0 {
        std::thread::sleep(Duration::from_millis(rng.u64(..15)));
    } else {
        let mut line = String::new();
        let out = child.stdout.as_mut().expect("child stdout");
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("the child reports");
        assert_eq!(line.trim(), "ready", "the child failed to open the store");
        std::thread::sleep(Duration::from_millis(rng.u64(5..80)));
    }
    if let Some(status) = child.try_wait().expect("the child's status") {
        panic!("the child runner stopped before it was killed: {status}");
    }
    child.kill().expect("SIGKILL the child");
    child.wait().expect("the child is reaped");
}

/// Appends `count` deposits of random amounts to random streams.
async fn append(store: &SqliteStore, rng: &mut fastrand::Rng, count: usize) {
    for _ in 0..count {
        let stream = StreamId::new(format!("account-{}", rng.u8(..5))).expect("a stream id");
        let amount = rng.i64(1..1000).to_string().into_bytes();
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![EventData::json("Deposited", amount)],
            )
            .await
            .expect("this process's appends succeed");
    }
}

/// What the file holds: the checkpoint, how often each event was handled,
/// each stream's total, and the feed (position, stream, amount).
struct Found {
    checkpoint: Option<GlobalPosition>,
    handled: BTreeMap<i64, i64>,
    totals: BTreeMap<String, i64>,
    feed: Vec<(GlobalPosition, String, i64)>,
}

async fn read(path: &Path) -> Found {
    let store = SqliteStore::open(path).await.expect("a fresh store opens");
    let checkpoint = store.load_checkpoint(NAME).await.expect("the checkpoint");
    let mut conn = store.read_connection().await.expect("a reader");
    let handled: Vec<(i64, i64)> = sqlx::query_as("SELECT seq, n FROM handled")
        .fetch_all(&mut *conn)
        .await
        .expect("handled");
    let totals: Vec<(String, i64)> = sqlx::query_as("SELECT stream_id, total FROM totals")
        .fetch_all(&mut *conn)
        .await
        .expect("totals");
    drop(conn);
    let feed = store
        .read_all(GlobalPosition::START, usize::MAX)
        .await
        .expect("the feed")
        .into_iter()
        .map(|e| {
            let amount = std::str::from_utf8(&e.payload)
                .expect("text")
                .parse()
                .expect("an amount");
            (e.position, e.stream_id.to_string(), amount)
        })
        .collect();
    store.close().await;
    Found {
        checkpoint,
        handled: handled.into_iter().collect(),
        totals: totals.into_iter().collect(),
        feed,
    }
}

impl Found {
    /// Read model and checkpoint in step: every event up to the checkpoint
    /// handled exactly once, none after it, totals their sums.
    fn check(&self, round: u32) {
        let mut handled = BTreeMap::new();
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for (position, stream, amount) in &self.feed {
            if Some(*position) <= self.checkpoint {
                handled.insert(i64::try_from(position.to_parts().1).expect("a sequence"), 1);
                *totals.entry(stream.clone()).or_default() += amount;
            }
        }
        assert_eq!(
            self.handled, handled,
            "round {round}: the events up to checkpoint {:?}, each once",
            self.checkpoint
        );
        assert_eq!(self.totals, totals, "round {round}: the totals");
    }
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
    let path = dir.path().join("projection-crash.db");
    let store = SqliteStore::open(&path).await.expect("the parent opens");
    for sql in [
        "CREATE TABLE totals (stream_id TEXT PRIMARY KEY, total INTEGER NOT NULL)",
        "CREATE TABLE handled (seq INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
    ] {
        sqlx::query(sql)
            .execute(&mut *store.read_connection().await.expect("a connection"))
            .await
            .expect("the read model's tables");
    }
    append(&store, &mut rng, 100).await;
    let mut moved = 0;
    let mut last = None;
    for round in 0..KILLS {
        let child = spawn_child(&path, rng.usize(1..=12));
        let mut kill_rng = fastrand::Rng::with_seed(rng.u64(..));
        let killer = tokio::task::spawn_blocking(move || run_and_kill(child, &mut kill_rng));
        // This process appends while the child runs.
        let count = rng.usize(5..40);
        append(&store, &mut rng, count).await;
        killer.await.expect("the killer thread");
        let found = read(&path).await;
        found.check(round);
        moved += u32::from(found.checkpoint != last);
        last = found.checkpoint;
    }
    assert!(
        moved >= KILLS / 3,
        "the children made too little progress to test anything: {moved} of {KILLS}"
    );

    let mut runner = SqliteProjectionRunner::new(store.clone(), Totals).with_batch_size(50);
    runner.catch_up().await.expect("the last runner catches up");
    store.close().await;
    let found = read(&path).await;
    found.check(KILLS);
    assert_eq!(
        found.checkpoint,
        found.feed.last().map(|(p, _, _)| *p),
        "the whole feed handled"
    );
    eprintln!(
        "{TEST_NAME}: {KILLS} kills, the checkpoint moved in {moved} rounds, {} events, in {:.1?}",
        found.feed.len(),
        started.elapsed()
    );
}
