//! The workloads W1 to W4 of `docs/design.md` (section 8), each run once
//! on factum and once on the baseline, returning (factum, baseline) in
//! operations per second (W5 is in `feed.rs`).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use factum::aggregate::{Aggregate, Repository, SnapshotPolicy};
use factum::{EventStore, ExpectedVersion, StreamId};
use futures::future::LocalBoxFuture;

use crate::baseline::{Baseline, BoxError};
use crate::latency::{Latencies, Percentiles};
use crate::model::{Balance, Deposited, Row};

/// A fresh, empty store and baseline on one backend.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) baseline: Arc<dyn Baseline>,
    /// Whatever must live as long as the target (a schema, a directory).
    pub(crate) _guard: Arc<dyn std::any::Any + Send + Sync>,
}

/// One run of a workload on both sides.
pub(crate) struct Run {
    /// factum's operations per second.
    pub(crate) ours: f64,
    /// The baseline's operations per second.
    pub(crate) theirs: f64,
    /// factum / baseline of each phase (the baseline's phase time over
    /// factum's).
    pub(crate) phase_ratios: Vec<f64>,
    /// The baseline's reference ways (see [`Baseline::references`]), in
    /// order.
    pub(crate) references: Vec<Reference>,
    /// The operations' latencies, factum's then the baseline's, where the
    /// workload times its operations one by one.
    pub(crate) latencies: Option<[Percentiles; 2]>,
}

/// One reference way's figures in a run.
pub(crate) struct Reference {
    pub(crate) name: &'static str,
    /// Operations per second.
    pub(crate) rate: f64,
    /// It / baseline of each phase (the baseline's phase time over its).
    pub(crate) phase_ratios: Vec<f64>,
}

/// One side of a workload: runs phase `n`.
type Side<'a> = Box<dyn FnMut(u64) -> LocalBoxFuture<'a, Result<(), BoxError>> + 'a>;

/// Boxes a closure as a [`Side`].
pub(crate) fn side<'a, F, Fut>(mut phase: F) -> Side<'a>
where
    F: FnMut(u64) -> Fut + 'a,
    Fut: Future<Output = Result<(), BoxError>> + 'a,
{
    Box::new(move |n| Box::pin(phase(n)))
}

/// Runs a workload in `phases` phases, each phase once on every side, back
/// to back: factum, the baseline, then the baseline's reference ways (if
/// any), in that order or the reverse, alternating from one phase to the
/// next (forwards first when `factum_first`). All sides thus share whatever
/// the machine does during the run, phase by phase, which keeps the ratios
/// steady where separate runs would each catch a different slow moment.
/// Each side's figure is `operations` per second of its summed phase times.
pub(crate) async fn interleaved(
    phases: u64,
    operations: u64,
    factum_first: bool,
    mut sides: Vec<(&'static str, Side<'_>)>,
) -> Result<Run, BoxError> {
    let mut spent = vec![Duration::ZERO; sides.len()];
    // Per side, the baseline's phase time over its own.
    let mut phase_ratios = vec![Vec::new(); sides.len()];
    for phase in 0..phases {
        let mut order: Vec<usize> = (0..sides.len()).collect();
        if factum_first != (phase % 2 == 0) {
            order.reverse();
        }
        let mut times = vec![Duration::ZERO; sides.len()];
        for i in order {
            times[i] = timed((sides[i].1)(phase)).await?;
        }
        for (i, time) in times.iter().enumerate() {
            spent[i] += *time;
            phase_ratios[i].push(times[1].as_secs_f64() / time.as_secs_f64());
        }
    }
    let rate = |time: Duration| operations as f64 / time.as_secs_f64();
    let references = sides
        .iter()
        .zip(&spent)
        .zip(&mut phase_ratios)
        .skip(2)
        .map(|(((name, _), time), ratios)| Reference {
            name,
            rate: rate(*time),
            phase_ratios: std::mem::take(ratios),
        })
        .collect();
    Ok(Run {
        ours: rate(spent[0]),
        theirs: rate(spent[1]),
        phase_ratios: std::mem::take(&mut phase_ratios[0]),
        references,
        latencies: None,
    })
}

/// `run` with the latencies of factum's and the baseline's operations.
fn with_latencies(mut run: Run, ours: &Latencies, theirs: &Latencies) -> Run {
    run.latencies = ours
        .percentiles()
        .zip(theirs.percentiles())
        .map(|(o, t)| [o, t]);
    run
}

async fn timed(work: impl Future<Output = Result<(), BoxError>>) -> Result<Duration, BoxError> {
    let started = Instant::now();
    work.await?;
    Ok(started.elapsed())
}

/// Sizes of the workloads (smaller with `--quick`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) streams: u64,
    pub(crate) appends_per_stream: u64,
    pub(crate) replay_events: u64,
    pub(crate) replays: u64,
    pub(crate) aggregates: u64,
    pub(crate) commands: u64,
    /// W5: events in the feed (1% of them match its filter).
    pub(crate) feed_events: u64,
    /// W5: catch-ups from the start of the feed.
    pub(crate) feed_catchups: u64,
}

impl Sizes {
    /// The sizes of `docs/design.md` (section 8), or the smoke run's.
    pub(crate) fn of(quick: bool) -> Self {
        if quick { Self::quick() } else { Self::full() }
    }

    pub(crate) fn full() -> Self {
        Self {
            streams: 1_000,
            appends_per_stream: 10,
            replay_events: 10_000,
            replays: 20,
            aggregates: 100,
            commands: 50,
            feed_events: 100_000,
            feed_catchups: 50,
        }
    }

    pub(crate) fn quick() -> Self {
        Self {
            streams: 200,
            appends_per_stream: 5,
            replay_events: 2_000,
            replays: 5,
            aggregates: 20,
            commands: 10,
            feed_events: 10_000,
            feed_catchups: 5,
        }
    }
}

pub(crate) fn stream(name: String) -> StreamId {
    StreamId::new(name).expect("benchmark stream ids are valid")
}

/// W1 (batch 1) and W2 (batch 10): `streams` x `appends_per_stream`
/// appends with exact expected versions, by `writers` tasks on disjoint
/// streams. One phase is one append to every stream. Events per second.
pub(crate) async fn appends(
    target: &Target,
    sizes: Sizes,
    writers: u64,
    batch: u64,
    factum_first: bool,
) -> Result<Run, BoxError> {
    let rows: Arc<Vec<Row>> = Arc::new((0..batch).map(Row::new).collect());
    // The streams of each writer.
    let owned: Arc<Vec<Vec<String>>> = Arc::new(
        (0..writers)
            .map(|w| {
                (w..sizes.streams)
                    .step_by(writers as usize)
                    .map(|s| format!("w-{s}"))
                    .collect()
            })
            .collect(),
    );
    let (ours_latency, theirs_latency) = (Latencies::default(), Latencies::default());
    let ours = |round: u64| {
        let tasks: Vec<_> = (0..writers as usize)
            .map(|w| {
                let (store, rows, owned) = (target.store.clone(), rows.clone(), owned.clone());
                let latency = ours_latency.clone();
                tokio::spawn(async move {
                    for name in &owned[w] {
                        let expected = if round == 0 {
                            ExpectedVersion::NoStream
                        } else {
                            ExpectedVersion::Exact(round * batch)
                        };
                        // Fresh ids, as the baseline's side makes.
                        let events = rows
                            .iter()
                            .map(|r| {
                                let mut event = r.to_event();
                                event.event_id = uuid::Uuid::now_v7();
                                event
                            })
                            .collect();
                        let id = stream(name.clone());
                        latency.time(store.append(&id, expected, events)).await?;
                    }
                    Ok::<_, BoxError>(())
                })
            })
            .collect();
        join(tasks)
    };
    // The baseline (way None) and its reference ways (Some(n)) write the
    // same rows by hand (each reference way in a schema of its own).
    let by_hand = |way: Option<usize>| {
        let (baseline, rows, owned) = (target.baseline.clone(), rows.clone(), owned.clone());
        // The reference ways' latencies are not reported.
        let latency = if way.is_none() {
            theirs_latency.clone()
        } else {
            Latencies::default()
        };
        move |round: u64| {
            let tasks: Vec<_> = (0..writers as usize)
                .map(|w| {
                    let (baseline, rows, owned) = (baseline.clone(), rows.clone(), owned.clone());
                    let latency = latency.clone();
                    tokio::spawn(async move {
                        for name in &owned[w] {
                            let rows: Vec<Row> = rows
                                .iter()
                                .map(|r| Row {
                                    event_id: uuid::Uuid::now_v7(),
                                    ..r.clone()
                                })
                                .collect();
                            let first = round * batch + 1;
                            latency
                                .time(async {
                                    match way {
                                        None => baseline.append(name, first, &rows).await,
                                        Some(n) => {
                                            baseline.append_reference(n, name, first, &rows).await
                                        }
                                    }
                                })
                                .await?;
                        }
                        Ok::<_, BoxError>(())
                    })
                })
                .collect();
            join(tasks)
        }
    };
    let total = sizes.streams * sizes.appends_per_stream * batch;
    let mut sides = vec![("factum", side(ours)), ("baseline", side(by_hand(None)))];
    for (n, name) in target.baseline.references().iter().enumerate() {
        sides.push((*name, side(by_hand(Some(n)))));
    }
    let run = interleaved(sizes.appends_per_stream, total, factum_first, sides).await?;
    Ok(with_latencies(run, &ours_latency, &theirs_latency))
}

/// Waits for every writer task; the first error, if any.
async fn join(tasks: Vec<tokio::task::JoinHandle<Result<(), BoxError>>>) -> Result<(), BoxError> {
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Writes `count` events to one stream on both sides, in batches of 500.
async fn fill(target: &Target, name: &str, count: u64, first: u64) -> Result<(), BoxError> {
    let s = stream(name.to_owned());
    let mut written = 0;
    while written < count {
        let n = (count - written).min(500);
        let rows: Vec<Row> = (0..n).map(|i| Row::new(first + written + i)).collect();
        let expected = if written == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(written)
        };
        target
            .store
            .append(&s, expected, rows.iter().map(Row::to_event).collect())
            .await?;
        target.baseline.append(name, written + 1, &rows).await?;
        written += n;
    }
    Ok(())
}

/// W3: one stream of `replay_events` events, loaded and folded `replays`
/// times (one phase each). Events folded per second.
pub(crate) async fn replay(
    target: &Target,
    sizes: Sizes,
    factum_first: bool,
) -> Result<Run, BoxError> {
    fill(target, "balance-replay", sizes.replay_events, 0).await?;
    let repository = Repository::<Balance, _>::new(target.store.clone());
    let total = sizes.replay_events * sizes.replays;

    let (ours_latency, theirs_latency) = (Latencies::default(), Latencies::default());
    let ours = |_| async {
        let loaded = ours_latency.time(repository.load("replay")).await?;
        assert_eq!(loaded.state.deposits, sizes.replay_events);
        Ok(())
    };
    let theirs = |_| {
        theirs_latency.time(async {
            let mut state = Balance::default();
            for payload in target.baseline.read("balance-replay", 0).await? {
                state.apply(&serde_json::from_slice::<Deposited>(&payload)?);
            }
            assert_eq!(state.deposits, sizes.replay_events);
            Ok(())
        })
    };
    let sides = vec![("factum", side(ours)), ("baseline", side(theirs))];
    let run = interleaved(sizes.replays, total, factum_first, sides).await?;
    Ok(with_latencies(run, &ours_latency, &theirs_latency))
}

/// Snapshots are taken every this many events (and once after the prior
/// events), on both sides.
const SNAPSHOT_EVERY: u64 = 20;

/// The baseline's version of a repository's `execute`: load (from the
/// snapshot when `snapshots`), fold, handle, insert, and save a snapshot
/// when the append crosses a multiple of [`SNAPSHOT_EVERY`].
async fn plain_command(
    baseline: &dyn Baseline,
    name: &str,
    command: u64,
    snapshots: bool,
) -> Result<(), BoxError> {
    let (mut state, mut version) = match snapshots {
        true => match baseline.load_snapshot(name).await? {
            Some((version, state)) => (serde_json::from_slice::<Balance>(&state)?, version),
            None => (Balance::default(), 0),
        },
        false => (Balance::default(), 0),
    };
    for payload in baseline.read(name, version).await? {
        state.apply(&serde_json::from_slice::<Deposited>(&payload)?);
        version += 1;
    }
    let events = state.handle(command)?;
    let rows = events
        .iter()
        .map(|e| {
            Ok(Row {
                event_id: uuid::Uuid::now_v7(),
                event_type: "Deposited",
                payload: serde_json::to_vec(e)?,
            })
        })
        .collect::<Result<Vec<Row>, BoxError>>()?;
    baseline.append(name, version + 1, &rows).await?;
    events.iter().for_each(|e| state.apply(e));
    let after = version + rows.len() as u64;
    if snapshots && version / SNAPSHOT_EVERY != after / SNAPSHOT_EVERY {
        baseline
            .save_snapshot(name, after, &serde_json::to_vec(&state)?)
            .await?;
    }
    Ok(())
}

/// W4: `aggregates` x `commands` command round trips (load, handle,
/// append) on aggregates with `prior` events, with or without snapshots
/// (every 20 events, and one taken after the prior events) on both sides.
/// One phase is one command to every aggregate. Commands per second.
pub(crate) async fn commands(
    target: &Target,
    sizes: Sizes,
    prior: u64,
    snapshots: bool,
    factum_first: bool,
) -> Result<Run, BoxError> {
    let policy = if snapshots {
        SnapshotPolicy::Every(SNAPSHOT_EVERY)
    } else {
        SnapshotPolicy::Never
    };
    let repository = Repository::<Balance, _>::new(target.store.clone()).with_snapshots(policy);
    for a in 0..sizes.aggregates {
        let name = format!("balance-{a}");
        fill(target, &name, prior, a * 10_000).await?;
        if snapshots {
            repository.take_snapshot(&a.to_string()).await?;
            let mut state = Balance::default();
            for payload in target.baseline.read(&name, 0).await? {
                state.apply(&serde_json::from_slice::<Deposited>(&payload)?);
            }
            target
                .baseline
                .save_snapshot(&name, prior, &serde_json::to_vec(&state)?)
                .await?;
        }
    }
    let total = sizes.aggregates * sizes.commands;

    let repository = &repository;
    let (ours_latency, theirs_latency) = (Latencies::default(), Latencies::default());
    let (ours_l, theirs_l) = (&ours_latency, &theirs_latency);
    let ours = |c| async move {
        for a in 0..sizes.aggregates {
            ours_l.time(repository.execute(&a.to_string(), c)).await?;
        }
        Ok(())
    };
    let theirs = |c| async move {
        for a in 0..sizes.aggregates {
            let name = format!("balance-{a}");
            theirs_l
                .time(plain_command(&*target.baseline, &name, c, snapshots))
                .await?;
        }
        Ok(())
    };
    let sides = vec![("factum", side(ours)), ("baseline", side(theirs))];
    let run = interleaved(sizes.commands, total, factum_first, sides).await?;
    Ok(with_latencies(run, &ours_latency, &theirs_latency))
}
