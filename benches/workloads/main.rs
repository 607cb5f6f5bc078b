//! The workload runner: DESIGN.md's workloads on every available backend,
//! each beside its plain baseline in the same run, as one table of medians.
//!
//! `cargo bench --bench workloads` (add `-- --quick` for a smoke run,
//! `-- --reps N` for N repetitions, `-- --only memory` for one backend).

mod backends;
mod baseline;
mod model;
mod workloads;

use std::future::Future;

use baseline::BoxError;
use workloads::{Sizes, Target};

/// Median of a non-empty list.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Args {
    quick: bool,
    reps: usize,
    only: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        quick: false,
        reps: 3,
        only: None,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--reps" => args.reps = raw.next().and_then(|n| n.parse().ok()).unwrap_or(3).max(1),
            "--only" => args.only = raw.next(),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// Runs one workload `reps` times on fresh targets; median of each side.
async fn measure<F, Fut>(
    backend: &dyn backends::Backend,
    reps: usize,
    run: F,
) -> Result<(f64, f64), BoxError>
where
    F: Fn(Target) -> Fut,
    Fut: Future<Output = Result<(f64, f64), BoxError>>,
{
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (a, b) = run(backend.fresh().await?).await?;
        ours.push(a);
        theirs.push(b);
    }
    Ok((median(ours), median(theirs)))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args = args();
    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    println!("sizes: {sizes:?}, {} repetitions, medians\n", args.reps);
    println!(
        "{:<34} {:<9} {:>14} {:>14} {:>7}",
        "workload", "backend", "factum", "baseline", "ratio"
    );
    for backend in backends::available().await? {
        if args
            .only
            .as_deref()
            .is_some_and(|only| only != backend.name())
        {
            continue;
        }
        let rows: Vec<(String, (f64, f64), &str)> = vec![
            (
                "W1 append 1 event, C=1".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::appends(&t, sizes, 1, 1).await
                })
                .await?,
                "events/s",
            ),
            (
                "W1 append 1 event, C=8".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::appends(&t, sizes, 8, 1).await
                })
                .await?,
                "events/s",
            ),
            (
                "W2 append 10 events, C=1".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::appends(&t, sizes, 1, 10).await
                })
                .await?,
                "events/s",
            ),
            (
                "W3 replay 10k-event stream".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::replay(&t, sizes).await
                })
                .await?,
                "events/s",
            ),
            (
                "W4 commands, ~10 prior".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::commands(&t, sizes, 10, false).await
                })
                .await?,
                "cmds/s",
            ),
            (
                "W4 commands, ~500 prior".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::commands(&t, sizes, 500, false).await
                })
                .await?,
                "cmds/s",
            ),
            (
                "W4 commands, ~10 prior, snapshots".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::commands(&t, sizes, 10, true).await
                })
                .await?,
                "cmds/s",
            ),
            (
                "W4 commands, ~500 prior, snapshots".into(),
                measure(&*backend, args.reps, |t| async move {
                    workloads::commands(&t, sizes, 500, true).await
                })
                .await?,
                "cmds/s",
            ),
        ];
        for (name, (ours, theirs), unit) in rows {
            println!(
                "{name:<34} {:<9} {:>14} {:>14} {:>7.2}",
                backend.name(),
                format!("{ours:.0} {unit}"),
                format!("{theirs:.0}"),
                ours / theirs
            );
        }
    }
    Ok(())
}
