//! Figures kept during the run, in bounded memory: a latency histogram,
//! the RSS and throughput series, peak lags.

use std::time::Duration;

/// Values below this many microseconds get a bucket each.
const LINEAR: u64 = 64;
/// Buckets per power of two above [`LINEAR`] (relative error under 1/32).
const SUB: u64 = 32;
/// Powers of two covered: up to 2^40 µs (about 12 days).
const POWERS: u64 = 40;

/// A log-linear histogram of durations in microseconds: fixed size,
/// whatever the number of samples.
#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; (LINEAR + (POWERS - 6) * SUB) as usize],
            total: 0,
            max: 0,
        }
    }
}

impl Histogram {
    pub(crate) fn record(&mut self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        let index = bucket(micros).min(self.counts.len() - 1);
        self.counts[index] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1), as the upper bound of its
    /// bucket, in microseconds.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_bound(index as u64).min(self.max);
            }
        }
        self.max
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }
}

fn bucket(micros: u64) -> usize {
    if micros < LINEAR {
        return micros as usize;
    }
    let power = 63 - u64::from(micros.leading_zeros()); // >= 6
    let sub = (micros >> (power - 5)) & (SUB - 1);
    (LINEAR + (power - 6) * SUB + sub) as usize
}

fn upper_bound(index: u64) -> u64 {
    if index < LINEAR {
        return index;
    }
    let power = (index - LINEAR) / SUB + 6;
    let sub = (index - LINEAR) % SUB;
    ((SUB + sub + 1) << (power - 5)) - 1
}

/// The process's resident set size in KiB, from `/proc/self/status`
/// (`None` where there is no such file).
pub(crate) fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One sample of the run, taken every [`SAMPLE_EVERY`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Since the load started.
    pub(crate) at: Duration,
    pub(crate) rss_kib: u64,
    /// Appends acknowledged so far.
    pub(crate) appends: u64,
}

/// How often the sampler records RSS and appends.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// RSS may grow after warm-up by this fraction of the post-warm-up sample...
pub(crate) const RSS_GROWTH: f64 = 0.20;
/// ...plus this many KiB.
pub(crate) const RSS_SLACK_KIB: u64 = 8 * 1024;
/// The share of the run that counts as warm-up.
pub(crate) const WARM_UP: f64 = 0.20;

/// The samples nearest to each tenth of the run (0%, 10%, ..., 100%).
pub(crate) fn tenths(samples: &[Sample], run: Duration) -> Vec<Sample> {
    (0..=10)
        .filter_map(|tenth| nearest(samples, run.mul_f64(f64::from(tenth) / 10.0)))
        .collect()
}

/// The sample taken nearest to `at`.
pub(crate) fn nearest(samples: &[Sample], at: Duration) -> Option<Sample> {
    samples.iter().min_by_key(|s| s.at.abs_diff(at)).copied()
}

/// Appends per second between consecutive tenths of the run.
pub(crate) fn rates(tenths: &[Sample]) -> Vec<f64> {
    tenths
        .windows(2)
        .map(|w| {
            let seconds = (w[1].at - w[0].at).as_secs_f64();
            if seconds > 0.0 {
                (w[1].appends - w[0].appends) as f64 / seconds
            } else {
                0.0
            }
        })
        .collect()
}

/// Mixes a number into 64 well-spread bits (splitmix64's finalizer): the
/// soak's plan, pauses and fingerprints.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
