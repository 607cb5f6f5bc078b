//! The soak's figures and checks, printed as a summary (and as JSON).

use std::sync::Arc;
use std::time::Duration;

use crate::args::Args;
use crate::bystanders::Batch;
use crate::consumers::Shared;
use crate::fold::Fold;
use crate::load::WriterReport;
use crate::postgres::{Kills, Postgres};
use crate::stats::{Histogram, RSS_GROWTH, RSS_SLACK_KIB, Sample, WARM_UP, nearest, rates, tenths};

/// Where a reader keeps what it saw.
#[derive(Clone)]
enum Source {
    Fold(Shared),
    Table(Arc<Postgres>),
}

/// A reader of the feed, by name.
#[derive(Clone)]
pub(crate) struct Reader {
    name: String,
    source: Source,
}

impl Reader {
    pub(crate) fn fold(name: String, fold: Shared) -> Self {
        Self {
            name,
            source: Source::Fold(fold),
        }
    }

    pub(crate) fn table(name: String, pg: Arc<Postgres>) -> Self {
        Self {
            name,
            source: Source::Table(pg),
        }
    }

    pub(crate) fn is_table(&self) -> bool {
        matches!(self.source, Source::Table(_))
    }

    /// How many events it has folded (`None`: the table could not be read
    /// within a second).
    pub(crate) async fn seen(&self) -> Option<u64> {
        match &self.source {
            Source::Fold(fold) => Some(fold.lock().count),
            Source::Table(pg) => tokio::time::timeout(Duration::from_secs(1), pg.handled())
                .await
                .ok()?
                .ok(),
        }
    }
}

/// One check: its name, and what failed, if anything.
struct Check {
    name: String,
    failure: Option<String>,
}

/// What a reader did, for the summary.
struct ReaderLine {
    name: String,
    transient_errors: u64,
    /// Events handed to it again (the at-least-once runner, after a
    /// restart from its checkpoint).
    again: u64,
}

/// Everything the soak reports.
pub(crate) struct Report {
    args: Args,
    target: String,
    pub(crate) writers: Vec<WriterReport>,
    pub(crate) load_time: Duration,
    pub(crate) samples: Vec<Sample>,
    /// Per reader, in the order of `readers`.
    pub(crate) peak_lags: Vec<u64>,
    pub(crate) kills: Option<Kills>,
    /// What the batch job did (PostgreSQL).
    pub(crate) batch: Option<Batch>,
    /// How long the feed took after the load to show the last
    /// acknowledged event (`None`: it did not within two minutes).
    pub(crate) feed_shown: Option<Duration>,
    /// What held the feed back, when it was held back and that is known.
    pub(crate) feed_holder: Option<String>,
    /// How long the readers took to fold everything after the load.
    pub(crate) catch_up: Option<Duration>,
    /// The fold of the stored feed.
    pub(crate) stored: Fold,
    readers: Vec<ReaderLine>,
    checks: Vec<Check>,
}

impl Report {
    pub(crate) fn new(args: &Args, target: String) -> Self {
        Self {
            args: args.clone(),
            target,
            writers: Vec::new(),
            load_time: Duration::ZERO,
            samples: Vec::new(),
            peak_lags: Vec::new(),
            kills: None,
            batch: None,
            feed_shown: None,
            feed_holder: None,
            catch_up: None,
            stored: Fold::default(),
            readers: Vec::new(),
            checks: Vec::new(),
        }
    }

    fn check(&mut self, name: impl Into<String>, failure: Option<String>) {
        self.checks.push(Check {
            name: name.into(),
            failure,
        });
    }

    /// Checks what `reader` folded against the stored feed; `ended` says
    /// why its task ended, if it did (a failure: readers run until the end).
    pub(crate) async fn compare(&mut self, reader: &Reader, stored: &Fold, ended: Option<String>) {
        let failure = match &reader.source {
            Source::Fold(fold) => {
                let fold = fold.lock();
                self.readers.push(ReaderLine {
                    name: reader.name.clone(),
                    transient_errors: fold.transient_errors,
                    again: fold.old,
                });
                if fold.problem_count > 0 {
                    Some(format!(
                        "{} problems, e.g. {}",
                        fold.problem_count,
                        fold.problems[..fold.problems.len().min(3)].join("; ")
                    ))
                } else {
                    fold.differs_from(stored)
                }
            }
            Source::Table(pg) => {
                self.readers.push(ReaderLine {
                    name: reader.name.clone(),
                    transient_errors: 0,
                    again: 0,
                });
                match pg.totals().await {
                    Ok(totals) if totals == stored.streams => None,
                    Ok(_) => {
                        Some("the read-model table differs from a fold of the stored events".into())
                    }
                    Err(e) => Some(format!("cannot read the read-model table: {e}")),
                }
            }
        };
        let failure = match ended {
            Some(why) => Some(format!("it ended during the soak: {why}")),
            None => failure,
        };
        self.check(
            format!(
                "{}: saw every event once, in order; read model = fold",
                reader.name
            ),
            failure,
        );
    }

    /// Adds the checks of the writers, the stored feed, the catch-up, the
    /// killer and RSS.
    pub(crate) fn conclude(&mut self) {
        let errors: Vec<_> = self
            .writers
            .iter()
            .filter_map(|w| w.error.clone())
            .collect();
        self.check(
            "writers: every append acknowledged (transient errors retried)",
            (!errors.is_empty()).then(|| errors.join("; ")),
        );
        let stored = (self.stored.problem_count > 0).then(|| {
            format!(
                "{} problems, e.g. {}",
                self.stored.problem_count,
                self.stored.problems[..self.stored.problems.len().min(3)].join("; ")
            )
        });
        self.check(
            "store: every acknowledged append stored exactly once (by key), feed in order, contiguous versions",
            stored,
        );
        self.check(
            "the feed showed every acknowledged event after the load",
            self.feed_shown.is_none().then(|| {
                let holder = self.feed_holder.as_deref().unwrap_or("unknown");
                format!(
                    "its head stayed before the last acknowledged event for 2 minutes: a \
                     transaction (on PostgreSQL, anywhere on the server) held the feed back; {holder}"
                )
            }),
        );
        self.check(
            "readers caught up after the load",
            self.catch_up
                .is_none()
                .then(|| format!("no progress for {:?}", crate::STALL)),
        );
        if let Some(kills) = &self.kills {
            let failure = match &kills.error {
                Some(e) => Some(format!("the killer could not run: {e}")),
                None if kills.rounds > 0 && kills.sessions == 0 => {
                    Some("no session was killed: the soak did not test kills".into())
                }
                None => None,
            };
            self.check("connection kills happened", failure);
        }
        if let Some(batch) = &self.batch {
            let failure = (batch.transactions == 0).then(|| {
                "the batch job committed no transaction: the soak did not test it".to_owned()
            });
            self.check("the batch job's long transactions ran", failure);
        }
        let (failure, _) = self.rss_check();
        self.check("RSS flat after warm-up", failure);
    }

    /// RSS after warm-up and at the end, in KiB, and whether the end
    /// exceeds the limit.
    fn rss_check(&self) -> (Option<String>, (u64, u64, u64)) {
        let warm = nearest(&self.samples, self.load_time.mul_f64(WARM_UP)).map_or(0, |s| s.rss_kib);
        let end = self.samples.last().map_or(0, |s| s.rss_kib);
        let limit = (warm as f64 * (1.0 + RSS_GROWTH)) as u64 + RSS_SLACK_KIB;
        let failure = (end > limit).then(|| {
            format!(
                "RSS grew from {} MiB after warm-up to {} MiB at the end (limit {} MiB)",
                mib(warm),
                mib(end),
                mib(limit)
            )
        });
        (failure, (warm, end, limit))
    }

    fn latency(&self) -> Histogram {
        let mut all = Histogram::default();
        for writer in &self.writers {
            all.merge(&writer.latency);
        }
        all
    }

    fn totals(&self) -> (u64, u64, u64, u64) {
        self.writers.iter().fold((0, 0, 0, 0), |(a, e, r, d), w| {
            (a + w.appends, e + w.events, r + w.retries, d + w.duplicates)
        })
    }

    pub(crate) fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.failure.is_none())
    }

    pub(crate) fn print(&self) {
        let a = &self.args;
        let seconds = self.load_time.as_secs_f64();
        let (appends, events, retries, duplicates) = self.totals();
        let latency = self.latency();
        println!("factum soak on {}", self.target);
        let kills = match (a.backend, a.kill_every) {
            (crate::args::Backend::Postgres, Some(every)) => {
                format!(", connection kills every ~{every:?}")
            }
            _ => String::new(),
        };
        let rate = match a.rate {
            0 => "unthrottled".to_owned(),
            rate => format!("at most {rate} appends/s"),
        };
        println!(
            "load: {seconds:.1} s, {} writers ({rate}), {} subscribers{kills}",
            a.writers, a.subscribers
        );
        println!(
            "appended: {appends} appends, {events} events: {:.0} appends/s, {:.0} events/s",
            appends as f64 / seconds,
            events as f64 / seconds
        );
        println!(
            "  retried {retries} attempts (Error::Unavailable); {duplicates} events acknowledged as duplicates on retry"
        );
        println!(
            "append latency (first attempt to acknowledgement, retries included): p50 {}, p99 {}, max {}",
            ms(latency.quantile(0.50)),
            ms(latency.quantile(0.99)),
            ms(latency.max())
        );
        println!(
            "peak lag (acknowledged events the reader had not folded yet, sampled every 250 ms; the table every 1 s):"
        );
        for (line, peak) in self.readers.iter().zip(&self.peak_lags) {
            println!(
                "  {}: {peak} events; transient errors {}; events handed again {}",
                line.name, line.transient_errors, line.again
            );
        }
        if let Some(shown) = self.feed_shown {
            println!(
                "after the load, the feed showed the last acknowledged event within {:.1} s",
                shown.as_secs_f64()
            );
        }
        if let Some(catch_up) = self.catch_up {
            println!(
                "after the load, every reader had folded everything within {:.1} s",
                catch_up.as_secs_f64()
            );
        }
        if let Some(k) = &self.kills {
            println!(
                "connection kills: {} rounds, {} sessions terminated ({} rounds failed)",
                k.rounds, k.sessions, k.failed_rounds
            );
        }
        if let Some(b) = &self.batch {
            println!(
                "batch job: {} transactions writing another table, each open {:?} ({} failed); \
                 one append in five wrote that table first",
                b.transactions,
                crate::BATCH_HOLD,
                b.failed
            );
        }
        let tenths = tenths(&self.samples, self.load_time);
        let rss: Vec<String> = tenths.iter().map(|s| mib(s.rss_kib).to_string()).collect();
        println!(
            "RSS (MiB) at 0%, 10%, ..., 100% of the load: {}",
            rss.join(" ")
        );
        let rates: Vec<String> = rates(&tenths).iter().map(|r| format!("{r:.0}")).collect();
        println!("appends/s in each tenth of the load: {}", rates.join(" "));
        let (_, (warm, end, limit)) = self.rss_check();
        println!(
            "RSS after warm-up ({:.0}%) {} MiB, at the end {} MiB; limit +{:.0}% + {} MiB = {} MiB",
            WARM_UP * 100.0,
            mib(warm),
            mib(end),
            RSS_GROWTH * 100.0,
            mib(RSS_SLACK_KIB),
            mib(limit)
        );
        println!("checks:");
        for check in &self.checks {
            match &check.failure {
                None => println!("  ok    {}", check.name),
                Some(why) => println!("  FAIL  {}: {why}", check.name),
            }
        }
        println!("{}", if self.passed() { "PASSED" } else { "FAILED" });
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        let seconds = self.load_time.as_secs_f64();
        let (appends, events, retries, duplicates) = self.totals();
        let latency = self.latency();
        let tenths = tenths(&self.samples, self.load_time);
        serde_json::json!({
            "backend": self.args.backend.name(),
            "seconds": seconds,
            "writers": self.args.writers,
            "rate_limit": self.args.rate,
            "appends": appends,
            "events": events,
            "appends_per_s": appends as f64 / seconds,
            "events_per_s": events as f64 / seconds,
            "retries": retries,
            "duplicates_on_retry": duplicates,
            "latency_us": {"p50": latency.quantile(0.5), "p99": latency.quantile(0.99), "max": latency.max()},
            "readers": self.readers.iter().zip(&self.peak_lags).map(|(r, peak)| serde_json::json!({
                "name": r.name, "peak_lag_events": peak, "transient_errors": r.transient_errors, "handed_again": r.again,
            })).collect::<Vec<_>>(),
            "feed_shown_s": self.feed_shown.map(|d| d.as_secs_f64()),
            "catch_up_s": self.catch_up.map(|d| d.as_secs_f64()),
            "kills": self.kills.as_ref().map(|k| serde_json::json!({"rounds": k.rounds, "sessions": k.sessions})),
            "batch_transactions": self.batch.as_ref().map(|b| b.transactions),
            "rss_mib_tenths": tenths.iter().map(|s| mib(s.rss_kib)).collect::<Vec<_>>(),
            "appends_per_s_tenths": rates(&tenths),
            "checks": self.checks.iter().map(|c| serde_json::json!({"name": c.name, "failure": c.failure})).collect::<Vec<_>>(),
            "passed": self.passed(),
        })
    }
}

fn mib(kib: u64) -> u64 {
    kib.div_ceil(1024)
}

fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}
