//! The soak: a mixed load for a while (default 10 minutes), then checks.
//!
//! Writers append with idempotency keys (single-stream, multi-stream and
//! exact-version appends), retrying `Error::Unavailable`; subscribers
//! follow the feed; core `ProjectionRunner`s keep in-memory read models;
//! on PostgreSQL an exactly-once `PostgresProjectionRunner` keeps a table
//! under a lease (a second one stands by), while a killer terminates the
//! store's sessions every few seconds, one append in five runs in a
//! transaction that writes another table first, and a batch job keeps
//! long transactions on that table open. At the end it checks that every
//! acknowledged append is stored exactly once, in order, with contiguous
//! versions per stream, that every reader saw each event once and that
//! the read models equal a fold of the events; and it reports throughput,
//! append latency, peak lag and RSS over time, which must stay flat after
//! warm-up. The exit code is non-zero when a check failed.
//!
//! ```text
//! cargo run --release --example soak --features sqlite,postgres -- --duration 30s
//! cargo run --release --example soak --features sqlite,postgres -- --backend postgres
//! ```
//!
//! `--help` lists the options. See "Soak" in `benches/README.md`.

mod args;
mod bystanders;
mod check;
mod consumers;
mod fold;
mod load;
mod postgres;
mod report;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use factum::sqlite::SqliteStore;
use factum::{BoxError, EventStore};
use tokio::task::JoinHandle;

use args::{Args, Backend};
use consumers::{MemoryModel, Shared};
use load::Acked;
use postgres::{Kills, Postgres};
use report::{Reader, Report};
use stats::{SAMPLE_EVERY, Sample};

/// How long the readers may go without progress while catching up after
/// the load before the soak fails.
const STALL: Duration = Duration::from_secs(30);
/// How long the readers may take in all to catch up after the load: a
/// reader further behind than that has a lag that did not stay bounded.
pub(crate) const CATCH_UP: Duration = Duration::from_secs(120);
/// How long each of the PostgreSQL batch job's transactions stays open.
pub(crate) const BATCH_HOLD: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}\n");
            }
            eprintln!("{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let json = args.json;
    match soak(args).await {
        Ok(report) => {
            report.print();
            if json {
                println!("{}", report.json());
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("the soak could not run: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the events are.
enum Target {
    Sqlite(SqliteStore, PathBuf),
    Postgres(Arc<Postgres>),
}

impl Target {
    async fn open(args: &Args) -> Result<(Self, Arc<dyn EventStore>), BoxError> {
        Ok(match args.backend {
            Backend::Sqlite => {
                let path =
                    std::env::temp_dir().join(format!("factum-soak-{}.db", std::process::id()));
                remove_sqlite(&path);
                let store = SqliteStore::open(&path).await?;
                (Self::Sqlite(store.clone(), path), Arc::new(store))
            }
            Backend::Postgres => {
                let pg = Postgres::open(args.url.as_deref()).await?;
                let store = Arc::new(pg.store.clone());
                (Self::Postgres(Arc::new(pg)), store)
            }
        })
    }

    fn describe(&self) -> String {
        match self {
            Self::Sqlite(_, path) => format!("sqlite ({})", path.display()),
            Self::Postgres(pg) if pg.own_server() => {
                format!("postgres (a throwaway server: {})", pg.shown)
            }
            Self::Postgres(pg) => format!("postgres ({})", pg.shown),
        }
    }

    async fn clean_up(&self) -> Result<(), BoxError> {
        match self {
            Self::Sqlite(store, path) => {
                store.close().await;
                remove_sqlite(path);
            }
            Self::Postgres(pg) => pg.clean_up().await?,
        }
        Ok(())
    }
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// A reader task: its name, its fold (or the read-model table), and the
/// task, which must still be running at the end.
struct Task {
    reader: Reader,
    handle: JoinHandle<String>,
}

async fn soak(args: Args) -> Result<Report, BoxError> {
    let (target, store) = Target::open(&args).await?;
    let mut report = Report::new(&args, target.describe());
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Acked::default());

    let mut tasks = Vec::new();
    for i in 0..args.subscribers {
        let batch = if i % 2 == 0 { 500 } else { 50 };
        let fold = Shared::default();
        let handle = tokio::spawn(consumers::subscribe(store.clone(), batch, fold.clone()));
        let reader = Reader::fold(format!("subscriber {} (pages of {batch})", i + 1), fold);
        tasks.push(Task { reader, handle });
    }
    let memory_runners: &[usize] = match args.backend {
        Backend::Sqlite => &[100, 500],
        Backend::Postgres => &[100],
    };
    for (i, batch) in memory_runners.iter().enumerate() {
        let fold = Shared::default();
        let model = MemoryModel {
            name: format!("soak-memory-{}", i + 1),
            fold: fold.clone(),
        };
        let handle = tokio::spawn(consumers::run_memory(store.clone(), model, *batch));
        let name = format!(
            "core ProjectionRunner {} (in memory, pages of {batch})",
            i + 1
        );
        tasks.push(Task {
            reader: Reader::fold(name, fold),
            handle,
        });
    }
    let mut killer = None;
    let mut batch_job = None;
    let mut append = bystanders::plain(store.clone());
    if let Target::Postgres(pg) = &target {
        bystanders::create_table(&pg.store).await?;
        append = bystanders::writing_first(pg.store.clone());
        batch_job = Some(tokio::spawn(bystanders::batch_job(
            pg.store.clone(),
            BATCH_HOLD,
            stop.clone(),
        )));
        for holder in ["soak-runner-a", "soak-runner-b"] {
            let handle = tokio::spawn(postgres::run_table(pg.store.clone(), holder));
            let name = format!("PostgresProjectionRunner {holder} (the table, under a lease)");
            tasks.push(Task {
                reader: Reader::table(name, pg.clone()),
                handle,
            });
        }
        if let Some(every) = args.kill_every {
            killer = Some(tokio::spawn(postgres::kill(
                pg.store.clone(),
                every,
                stop.clone(),
            )));
        }
    }

    let started = Instant::now();
    let pace = (args.rate > 0).then(|| Duration::from_secs(args.writers).div_f64(args.rate as f64));
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let write = load::write(append.clone(), w, pace, stop.clone(), acked.clone());
            tokio::spawn(write)
        })
        .collect();
    let readers: Vec<Reader> = tasks.iter().map(|t| t.reader.clone()).collect();
    let sampler = tokio::spawn(sample(started, args.duration, acked.clone(), readers));

    tokio::time::sleep(args.duration).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        report.writers.push(writer.await?);
    }
    report.load_time = started.elapsed();
    let (samples, peaks) = sampler.await?;
    report.samples = samples;
    report.peak_lags = peaks;
    if let Some(batch_job) = batch_job {
        report.batch = Some(batch_job.await?);
    }
    if let Some(killer) = killer {
        report.kills = Some(killer.await?.unwrap_or_else(|e| Kills {
            error: Some(e.to_string()),
            ..Kills::default()
        }));
    }

    report.feed_shown = check::visible(store.as_ref(), acked.last()).await;
    if let (None, Target::Postgres(pg)) = (report.feed_shown, &target) {
        report.feed_holder = pg.oldest_transaction().await;
    }
    let stored = check::scan(store.as_ref(), &report.writers).await?;
    report.catch_up = drain(&tasks, stored.count).await;
    for task in tasks {
        let ended = task.handle.is_finished();
        task.handle.abort();
        let why = if ended {
            Some(match task.handle.await {
                Ok(why) => why,
                Err(e) => format!("the task failed: {e}"),
            })
        } else {
            None
        };
        report.compare(&task.reader, &stored, why).await;
    }
    report.stored = stored;
    report.conclude();
    if args.keep {
        println!("kept the store: {}", target.describe());
    } else {
        target.clean_up().await?;
    }
    Ok(report)
}

/// Waits until every reader has folded `count` events; gives up when none
/// made progress for [`STALL`], or after [`CATCH_UP`]. Returns how long
/// it took, or `None` when it gave up.
async fn drain(tasks: &[Task], count: u64) -> Option<Duration> {
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut last_total = 0;
    loop {
        let mut total = 0;
        let mut done = true;
        for task in tasks {
            let seen = task.reader.seen().await.unwrap_or(0);
            total += seen;
            done &= seen >= count;
        }
        if done {
            return Some(started.elapsed());
        }
        if total != last_total {
            last_total = total;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > STALL {
            return None;
        }
        if started.elapsed() > CATCH_UP {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Until `run` has passed: samples RSS and appends every [`SAMPLE_EVERY`],
/// and every reader's lag (acknowledged events it has not folded yet)
/// every 250 ms (the read-model table's every second). Returns the samples
/// and each reader's peak lag.
async fn sample(
    started: Instant,
    run: Duration,
    acked: Arc<Acked>,
    readers: Vec<Reader>,
) -> (Vec<Sample>, Vec<u64>) {
    let mut samples = Vec::new();
    let mut peaks = vec![0u64; readers.len()];
    let mut lags = vec![0u64; readers.len()];
    let mut tick = 0u64;
    let per_sample = (SAMPLE_EVERY.as_millis() / 250) as u64;
    let mut tenth = 1;
    loop {
        let at = started.elapsed();
        let appends = acked.appends.load(Ordering::Relaxed);
        let events = acked.events.load(Ordering::Relaxed);
        for ((reader, peak), lag) in readers.iter().zip(&mut peaks).zip(&mut lags) {
            if reader.is_table() && !tick.is_multiple_of(4) {
                continue;
            }
            if let Some(seen) = reader.seen().await {
                *lag = events.saturating_sub(seen);
                *peak = (*peak).max(*lag);
            }
        }
        if at >= run.mul_f64(f64::from(tenth) / 10.0) {
            // Progress on stderr, so that a run cut short still says how
            // it went.
            let lags: Vec<String> = lags.iter().map(u64::to_string).collect();
            eprintln!(
                "[{:>3}%] {:.0} s: {appends} appends, {events} events, RSS {} MiB, lag now (events): {}",
                tenth * 10,
                at.as_secs_f64(),
                stats::rss_kib().unwrap_or(0) / 1024,
                lags.join(" ")
            );
            tenth += 1;
        }
        if tick.is_multiple_of(per_sample) || at >= run {
            let rss_kib = stats::rss_kib().unwrap_or(0);
            samples.push(Sample {
                at,
                rss_kib,
                appends,
            });
        }
        if at >= run {
            return (samples, peaks);
        }
        tick += 1;
        let next = started + Duration::from_millis(250 * tick);
        tokio::time::sleep_until(next.into()).await;
    }
}
