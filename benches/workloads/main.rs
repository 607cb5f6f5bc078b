//! The workload runner: the workloads of `docs/design.md` (section 8) on
//! every available backend, each beside its plain baseline in the same
//! run, as one table of medians.
//! On PostgreSQL the append workloads also run two reference ways between
//! the baseline and factum (the same rows inserted into factum's table;
//! factum's own statement sent by hand), printed indented below their row,
//! with their ratio against the baseline: where an append's time goes.
//!
//! `cargo bench --bench workloads` (add `-- --quick` for a smoke run,
//! `-- --reps N` for N repetitions, `-- --only memory` for one backend,
//! `-- --workload W3` for the workloads whose name starts so, `-- --help`
//! for these and the workloads' names).

mod backends;
mod baseline;
mod feed;
mod latency;
mod model;
mod workloads;

use std::future::Future;

use baseline::BoxError;
use workloads::{Run, Sizes, Target};

/// Median of a non-empty list.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Args {
    quick: bool,
    reps: usize,
    only: Option<String>,
    workload: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        quick: false,
        reps: 2,
        only: None,
        workload: None,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--reps" => args.reps = raw.next().and_then(|n| n.parse().ok()).unwrap_or(2).max(1),
            "--only" => args.only = raw.next(),
            "--workload" => args.workload = raw.next(),
            "--help" | "-h" => {
                print_help();
                std::process::exit(0);
            }
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// The options, and the workloads `--workload` selects from.
fn print_help() {
    println!(
        "cargo bench --bench workloads -- [--quick] [--reps N] [--only memory|sqlite|postgres] \
         [--workload PREFIX]\n\n\
         --quick            small sizes, a smoke run\n\
         --reps N           repetitions of each workload (default 2)\n\
         --only BACKEND     one backend\n\
         --workload PREFIX  the workloads whose name starts so (\"W5\", \"W4 commands, ~10\")\n\n\
         workloads:"
    );
    for (name, unit, _) in WORKLOADS {
        println!("  {name} ({unit})");
    }
}

/// One workload's figures over its repetitions.
struct Figures {
    /// Median of factum's figures.
    ours: f64,
    /// Median of the baseline's figures.
    theirs: f64,
    /// factum / baseline of each repetition, sorted.
    ratios: Vec<f64>,
    /// factum / baseline of each phase of every repetition: the two sides
    /// of a phase run back to back, on the same state of the machine.
    phase_ratios: Vec<f64>,
    /// The baseline's reference ways, in order.
    references: Vec<ReferenceFigures>,
    /// Each repetition's latencies, factum's then the baseline's.
    latencies: Vec<[latency::Percentiles; 2]>,
}

/// One reference way's figures over the repetitions.
struct ReferenceFigures {
    name: &'static str,
    /// Its figure in each repetition.
    rates: Vec<f64>,
    /// It / baseline of each phase of every repetition.
    phase_ratios: Vec<f64>,
}

impl Figures {
    /// The median of the phases' ratios: each is taken between two runs
    /// that shared the machine's state, so it holds better than a ratio of
    /// two medians.
    fn ratio(&self) -> f64 {
        median(self.phase_ratios.clone())
    }
}

/// Runs one workload `reps` times on fresh targets, alternating which side
/// goes first.
async fn measure<F, Fut>(
    backend: &dyn backends::Backend,
    reps: usize,
    run: F,
) -> Result<Figures, BoxError>
where
    F: Fn(Target, bool) -> Fut,
    Fut: Future<Output = Result<Run, BoxError>>,
{
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut phase_ratios = Vec::new();
    let mut references: Vec<ReferenceFigures> = Vec::new();
    let mut latencies = Vec::new();
    for rep in 0..reps {
        let target = backend.fresh().await?;
        let result = run(target.clone(), rep % 2 == 0).await;
        target.baseline.close().await;
        drop(target);
        let run = result?;
        ours.push(run.ours);
        theirs.push(run.theirs);
        ratios.push(run.ours / run.theirs);
        phase_ratios.extend(run.phase_ratios);
        latencies.extend(run.latencies);
        for (i, reference) in run.references.into_iter().enumerate() {
            if references.len() == i {
                references.push(ReferenceFigures {
                    name: reference.name,
                    rates: Vec::new(),
                    phase_ratios: Vec::new(),
                });
            }
            references[i].rates.push(reference.rate);
            references[i].phase_ratios.extend(reference.phase_ratios);
        }
    }
    ratios.sort_by(f64::total_cmp);
    Ok(Figures {
        ours: median(ours),
        theirs: median(theirs),
        ratios,
        phase_ratios,
        references,
        latencies,
    })
}

/// The load average, as `uptime` prints it.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

type Workload = (&'static str, &'static str, W);

/// Which workload a row runs.
#[derive(Clone, Copy)]
enum W {
    Appends { writers: u64, batch: u64 },
    Replay,
    Commands { prior: u64, snapshots: bool },
    Filtered,
}

const WORKLOADS: [Workload; 10] = [
    (
        "W1 append 1 event, C=1",
        "events/s",
        W::Appends {
            writers: 1,
            batch: 1,
        },
    ),
    (
        "W1 append 1 event, C=8",
        "events/s",
        W::Appends {
            writers: 8,
            batch: 1,
        },
    ),
    (
        "W2 append 10 events, C=1",
        "events/s",
        W::Appends {
            writers: 1,
            batch: 10,
        },
    ),
    (
        "W2 append 10 events, C=8",
        "events/s",
        W::Appends {
            writers: 8,
            batch: 10,
        },
    ),
    ("W3 replay 10k-event stream", "events/s", W::Replay),
    (
        "W4 commands, ~10 prior",
        "cmds/s",
        W::Commands {
            prior: 10,
            snapshots: false,
        },
    ),
    (
        "W4 commands, ~500 prior",
        "cmds/s",
        W::Commands {
            prior: 500,
            snapshots: false,
        },
    ),
    (
        "W4 commands, ~10 prior, snapshots",
        "cmds/s",
        W::Commands {
            prior: 10,
            snapshots: true,
        },
    ),
    (
        "W4 commands, ~500 prior, snapshots",
        "cmds/s",
        W::Commands {
            prior: 500,
            snapshots: true,
        },
    ),
    (
        "W5 filtered subscription, 1% match",
        "events/s",
        W::Filtered,
    ),
];

async fn run(target: Target, sizes: Sizes, w: W, factum_first: bool) -> Result<Run, BoxError> {
    match w {
        W::Appends { writers, batch } => {
            workloads::appends(&target, sizes, writers, batch, factum_first).await
        }
        W::Replay => workloads::replay(&target, sizes, factum_first).await,
        W::Commands { prior, snapshots } => {
            workloads::commands(&target, sizes, prior, snapshots, factum_first).await
        }
        W::Filtered => feed::filtered(&target, sizes, factum_first).await,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args = args();
    let started = std::time::Instant::now();
    println!(
        "{} repetitions of 10 to 50 interleaved phases each; figures are medians of the \
         repetitions, ratio the median of every phase's ratio, range the lowest and highest \
         repetition's ratio; load average at start: {}\n",
        args.reps,
        load()
    );
    for backend in backends::available().await? {
        if args
            .only
            .as_deref()
            .is_some_and(|only| only != backend.name())
        {
            continue;
        }
        let sizes = Sizes::of(args.quick);
        println!("{}: {}", backend.name(), backend.describe().await);
        println!("  sizes: {sizes:?}");
        println!(
            "{:<36} {:<9} {:>17} {:>12} {:>6}  {:<9}  {:>13} {:>13}",
            "workload",
            "backend",
            "factum",
            "baseline",
            "ratio",
            "range",
            "p50/p99 µs",
            "baseline's"
        );
        for (name, unit, w) in WORKLOADS {
            if args
                .workload
                .as_deref()
                .is_some_and(|n| !name.starts_with(n))
            {
                continue;
            }
            let figures = measure(&*backend, args.reps, |t, first| run(t, sizes, w, first)).await?;
            let (lowest, highest) = match (figures.ratios.first(), figures.ratios.last()) {
                (Some(lowest), Some(highest)) => (*lowest, *highest),
                _ => (f64::NAN, f64::NAN),
            };
            let ours: Vec<_> = figures.latencies.iter().map(|l| l[0]).collect();
            let theirs: Vec<_> = figures.latencies.iter().map(|l| l[1]).collect();
            println!(
                "{name:<36} {:<9} {:>17} {:>12} {:>6.2}  {lowest:.2}-{highest:.2}  {:>13} {:>13}",
                backend.name(),
                format!("{:.0} {unit}", figures.ours),
                format!("{:.0}", figures.theirs),
                figures.ratio(),
                latency::describe(&ours),
                latency::describe(&theirs),
            );
            for reference in figures.references {
                println!(
                    "  {:<34} {:<9} {:>17} {:>12} {:>6.2}",
                    reference.name,
                    backend.name(),
                    format!("{:.0} {unit}", median(reference.rates)),
                    "",
                    median(reference.phase_ratios),
                );
            }
        }
        println!("  load average after {}: {}\n", backend.name(), load());
    }
    println!(
        "wall time: {:.0} s; load average at the end: {}",
        started.elapsed().as_secs_f64(),
        load()
    );
    Ok(())
}
