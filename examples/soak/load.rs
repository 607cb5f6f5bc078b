//! The writers: appends with idempotency keys, retried while the store is
//! unavailable, each timed from its first attempt to its acknowledgement.
//!
//! What a writer appends is a pure function of (writer, sequence number)
//! ([`plan`]), so the final check can tell which events every acknowledged
//! append must have stored without keeping a list of them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use factum::{EventData, ExpectedVersion, GlobalPosition, StreamAppend, StreamId};

use crate::bystanders::Append;

use crate::stats::{Histogram, mix};

/// Streams shared by all writers: `acct-0` .. `acct-99`.
pub(crate) const SHARED_STREAMS: u64 = 100;
/// How long one append may keep failing with transient errors before the
/// writer gives up (a soak failure).
const GIVE_UP: Duration = Duration::from_secs(120);

/// The streams of the events of append `seq` of `writer`, in order: event
/// `k` of the append goes to `plan(..)[k]`.
///
/// - 70%: 1 to 3 events to one shared stream, any version;
/// - 20%: a multi-stream append, one event to each of 2 or 3 distinct
///   shared streams, any version;
/// - 10%: 1 or 2 events to the writer's own stream `own-{writer}`, at the
///   exact version the writer last saw there.
pub(crate) fn plan(writer: u64, seq: u64) -> Vec<String> {
    let h = mix(writer << 40 ^ seq);
    let first = (h >> 8) % SHARED_STREAMS;
    match h % 10 {
        0 | 1 => {
            let count = 2 + (h >> 16) % 2;
            (0..count)
                .map(|k| format!("acct-{}", (first + k * 37) % SHARED_STREAMS))
                .collect()
        }
        2 => vec![format!("own-{writer}"); 1 + ((h >> 16) % 2) as usize],
        _ => vec![format!("acct-{first}"); 1 + ((h >> 16) % 3) as usize],
    }
}

/// Whether append `seq` of `writer` goes to the writer's own stream.
fn is_own(writer: u64, seq: u64) -> bool {
    mix(writer << 40 ^ seq) % 10 == 2
}

/// The idempotency key of event `k` of append `seq` of `writer`.
pub(crate) fn key(writer: u64, seq: u64, k: usize) -> String {
    format!("w{writer}-{seq}-{k}")
}

/// Parses a key made by [`key`].
pub(crate) fn parse_key(key: &str) -> Option<(u64, u64, usize)> {
    let mut parts = key.strip_prefix('w')?.split('-');
    let writer = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let k = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((writer, seq, k))
}

/// The amount event `k` of append `seq` of `writer` deposits.
pub(crate) fn amount(writer: u64, seq: u64, k: usize) -> u64 {
    1 + mix(writer << 40 ^ seq ^ (k as u64) << 32) % 1000
}

/// What one writer did.
#[derive(Default)]
pub(crate) struct WriterReport {
    /// Appends acknowledged: those numbered 1..=appends.
    pub(crate) appends: u64,
    pub(crate) events: u64,
    /// Failed attempts retried (`Error::Unavailable`).
    pub(crate) retries: u64,
    /// Events acknowledged as duplicates: a retry of an append whose first
    /// attempt had committed without its answer arriving.
    pub(crate) duplicates: u64,
    pub(crate) latency: Histogram,
    /// Why it stopped early, if it did (a soak failure).
    pub(crate) error: Option<String>,
}

/// Counters the sampler reads while writers run.
#[derive(Default)]
pub(crate) struct Acked {
    pub(crate) appends: AtomicU64,
    pub(crate) events: AtomicU64,
    /// The highest position of an acknowledged event.
    pub(crate) last: Mutex<Option<GlobalPosition>>,
}

impl Acked {
    /// The highest position of an acknowledged event.
    pub(crate) fn last(&self) -> Option<GlobalPosition> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Appends until `stop` is set, one append every `pace` at most (`None`:
/// unthrottled), then returns what it did.
pub(crate) async fn write(
    append: Append,
    writer: u64,
    pace: Option<Duration>,
    stop: Arc<AtomicBool>,
    acked: Arc<Acked>,
) -> WriterReport {
    let mut report = WriterReport::default();
    let mut own_version: Option<u64> = None;
    let mut due = tokio::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if let Some(pace) = pace {
            // Never more than one append late: no burst after a stall.
            let now = tokio::time::Instant::now();
            due = (due + pace).max(now.checked_sub(pace).unwrap_or(now));
            tokio::time::sleep_until(due).await;
        }
        let seq = report.appends + 1;
        let appends = match appends(writer, seq, own_version) {
            Ok(appends) => appends,
            Err(e) => {
                report.error = Some(e);
                return report;
            }
        };
        let events: u64 = appends.iter().map(|a| a.events.len() as u64).sum();
        let started = Instant::now();
        let results = loop {
            match append(appends.clone()).await {
                Ok(results) => break results,
                Err(e) if e.is_transient() && started.elapsed() < GIVE_UP => {
                    report.retries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => {
                    report.error = Some(format!("append {seq} of writer {writer} failed: {e}"));
                    return report;
                }
            }
        };
        report.latency.record(started.elapsed());
        let outcomes: Vec<_> = results.iter().flat_map(|r| &r.events).collect();
        let duplicates = outcomes.iter().filter(|o| o.is_duplicate()).count() as u64;
        if outcomes.len() as u64 != events || (duplicates != 0 && duplicates != events) {
            report.error = Some(format!(
                "append {seq} of writer {writer}: {} outcomes for {events} events, {duplicates} \
                 of them duplicates (an append is all written or all duplicate)",
                outcomes.len()
            ));
            return report;
        }
        if is_own(writer, seq) {
            own_version = results.first().and_then(|r| r.current_version);
        }
        report.appends = seq;
        report.events += events;
        report.duplicates += duplicates;
        if let Some(position) = outcomes.iter().map(|o| o.position()).max() {
            let mut last = acked.last.lock().unwrap_or_else(|e| e.into_inner());
            *last = (*last).max(Some(position));
        }
        acked.appends.fetch_add(1, Ordering::Relaxed);
        acked.events.fetch_add(events, Ordering::Relaxed);
    }
    report
}

/// The appends of [`plan`]`(writer, seq)`, each event with its key.
fn appends(writer: u64, seq: u64, own_version: Option<u64>) -> Result<Vec<StreamAppend>, String> {
    let expected = if is_own(writer, seq) {
        own_version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact)
    } else {
        ExpectedVersion::Any
    };
    let mut appends: Vec<StreamAppend> = Vec::new();
    for (k, stream) in plan(writer, seq).into_iter().enumerate() {
        let payload = format!(
            r#"{{"amount":{},"writer":{writer},"seq":{seq},"note":"soak deposit"}}"#,
            amount(writer, seq, k)
        );
        let event = EventData::json("Deposited", payload.into_bytes())
            .with_idempotency_key(key(writer, seq, k));
        match appends.last_mut() {
            Some(last) if last.stream_id.as_str() == stream => last.events.push(event),
            _ => {
                let stream = StreamId::new(stream).map_err(|e| e.to_string())?;
                appends.push(StreamAppend::new(stream, expected, vec![event]));
            }
        }
    }
    Ok(appends)
}
