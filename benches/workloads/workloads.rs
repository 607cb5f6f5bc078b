//! DESIGN.md's workloads W1 to W4, each run once on factum and once on the
//! baseline, returning (factum, baseline) in operations per second.

use std::sync::Arc;
use std::time::Instant;

use factum::aggregate::{Aggregate, Repository, SnapshotPolicy};
use factum::{EventStore, ExpectedVersion, StreamId};

use crate::baseline::{Baseline, BoxError};
use crate::model::{Balance, Deposited, Row};

/// A fresh, empty store and baseline on one backend.
pub(crate) struct Target {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) baseline: Arc<dyn Baseline>,
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
}

impl Sizes {
    pub(crate) fn full() -> Self {
        Self {
            streams: 1_000,
            appends_per_stream: 10,
            replay_events: 10_000,
            replays: 20,
            aggregates: 100,
            commands: 50,
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
        }
    }
}

fn stream(name: String) -> StreamId {
    StreamId::new(name).expect("benchmark stream ids are valid")
}

fn rate(operations: u64, started: Instant) -> f64 {
    operations as f64 / started.elapsed().as_secs_f64()
}

/// W1 (batch 1) and W2 (batch 10): `streams` x `appends_per_stream`
/// appends with exact expected versions, by `writers` tasks on disjoint
/// streams. Events per second.
pub(crate) async fn appends(
    target: &Target,
    sizes: Sizes,
    writers: u64,
    batch: u64,
) -> Result<(f64, f64), BoxError> {
    let rows: Arc<Vec<Row>> = Arc::new((0..batch).map(Row::new).collect());
    let total = sizes.streams * sizes.appends_per_stream * batch;

    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, rows) = (target.store.clone(), rows.clone());
            tokio::spawn(async move {
                let own: Vec<StreamId> = (w..sizes.streams)
                    .step_by(writers as usize)
                    .map(|s| stream(format!("w-{s}")))
                    .collect();
                for round in 0..sizes.appends_per_stream {
                    for s in &own {
                        let expected = if round == 0 {
                            ExpectedVersion::NoStream
                        } else {
                            ExpectedVersion::Exact(round * batch)
                        };
                        let events = rows.iter().map(Row::to_event).collect();
                        store.append(s, expected, events).await?;
                    }
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let factum = rate(total, started);

    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (baseline, rows) = (target.baseline.clone(), rows.clone());
            tokio::spawn(async move {
                let own: Vec<String> = (w..sizes.streams)
                    .step_by(writers as usize)
                    .map(|s| format!("w-{s}"))
                    .collect();
                for round in 0..sizes.appends_per_stream {
                    for s in &own {
                        // Fresh ids, as the store's side makes.
                        let rows: Vec<Row> = rows
                            .iter()
                            .map(|r| Row {
                                event_id: uuid::Uuid::now_v7(),
                                ..r.clone()
                            })
                            .collect();
                        baseline.append(s, round * batch + 1, &rows).await?;
                    }
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok((factum, rate(total, started)))
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
/// times. Events folded per second.
pub(crate) async fn replay(target: &Target, sizes: Sizes) -> Result<(f64, f64), BoxError> {
    fill(target, "balance-replay", sizes.replay_events, 0).await?;
    let repository = Repository::<Balance, _>::new(target.store.clone());
    let total = sizes.replay_events * sizes.replays;

    let started = Instant::now();
    for _ in 0..sizes.replays {
        let loaded = repository.load("replay").await?;
        assert_eq!(loaded.state.deposits, sizes.replay_events);
    }
    let factum = rate(total, started);

    let started = Instant::now();
    for _ in 0..sizes.replays {
        let mut state = Balance::default();
        for payload in target.baseline.read("balance-replay").await? {
            state.apply(&serde_json::from_slice::<Deposited>(&payload)?);
        }
        assert_eq!(state.deposits, sizes.replay_events);
    }
    Ok((factum, rate(total, started)))
}

/// W4: `aggregates` x `commands` command round trips (load, handle,
/// append) on aggregates with `prior` events, with or without snapshots
/// (every 20 events, and one taken after the prior events). Commands per
/// second.
pub(crate) async fn commands(
    target: &Target,
    sizes: Sizes,
    prior: u64,
    snapshots: bool,
) -> Result<(f64, f64), BoxError> {
    let policy = if snapshots {
        SnapshotPolicy::Every(20)
    } else {
        SnapshotPolicy::Never
    };
    let repository = Repository::<Balance, _>::new(target.store.clone()).with_snapshots(policy);
    for a in 0..sizes.aggregates {
        fill(target, &format!("balance-{a}"), prior, a * 10_000).await?;
        if snapshots {
            repository.take_snapshot(&a.to_string()).await?;
        }
    }
    let total = sizes.aggregates * sizes.commands;

    let started = Instant::now();
    for c in 0..sizes.commands {
        for a in 0..sizes.aggregates {
            repository.execute(&a.to_string(), c).await?;
        }
    }
    let factum = rate(total, started);

    let started = Instant::now();
    for c in 0..sizes.commands {
        for a in 0..sizes.aggregates {
            let name = format!("balance-{a}");
            let mut state = Balance::default();
            let payloads = target.baseline.read(&name).await?;
            for payload in &payloads {
                state.apply(&serde_json::from_slice::<Deposited>(payload)?);
            }
            let events = state.handle(c)?;
            let rows: Vec<Row> = events
                .iter()
                .map(|e| Row {
                    event_id: uuid::Uuid::now_v7(),
                    event_type: "Deposited",
                    payload: serde_json::to_vec(e).expect("serializes"),
                })
                .collect();
            target
                .baseline
                .append(&name, payloads.len() as u64 + 1, &rows)
                .await?;
        }
    }
    Ok((factum, rate(total, started)))
}
