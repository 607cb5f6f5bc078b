//! Latency: how long each operation of a side took, reported as the median
//! (p50) and the 99th percentile (p99) beside the rates.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The durations of one side's operations, shared by its writer tasks.
#[derive(Clone, Default)]
pub(crate) struct Latencies(Arc<Mutex<Vec<Duration>>>);

/// p50 and p99 of one side in one run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Percentiles {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

impl Latencies {
    /// Runs `operation`, recording how long it took.
    pub(crate) async fn time<T>(&self, operation: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let output = operation.await;
        let took = started.elapsed();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(took);
        output
    }

    /// p50 and p99 of what was recorded; `None` when nothing was.
    pub(crate) fn percentiles(&self) -> Option<Percentiles> {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        all.sort();
        let at = |percent: usize| {
            all.get((all.len() * percent / 100).min(all.len().checked_sub(1)?))
                .copied()
        };
        Some(Percentiles {
            p50: at(50)?,
            p99: at(99)?,
        })
    }
}

/// `p50/p99` in microseconds, the medians of the runs' percentiles; `-`
/// when no run measured any.
pub(crate) fn describe(runs: &[Percentiles]) -> String {
    if runs.is_empty() {
        return "-".into();
    }
    let median = |mut values: Vec<Duration>| {
        values.sort();
        values[values.len() / 2]
    };
    let p50 = median(runs.iter().map(|p| p.p50).collect());
    let p99 = median(runs.iter().map(|p| p.p99).collect());
    format!("{}/{}", p50.as_micros(), p99.as_micros())
}
