//! Concurrent writers on a store that fails before operations, fails after
//! writes (the write done, its answer lost) and lags by random latencies:
//! writers that retry with idempotency keys, or commands whose aggregate
//! remembers what it did, lose nothing and store nothing twice.

use std::collections::{BTreeSet, HashMap};
use std::error::Error as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use factum_core::aggregate::{Aggregate, ExecuteError, Repository, SnapshotPolicy};
use factum_core::testing::{assert_contiguous_versions, assert_increasing_positions};
use factum_core::{
    DomainEvent, Error, EventAppender, EventData, EventOutcome, EventReader, ExpectedVersion,
    GlobalPosition, ReadOptions, RecordedEvent, Result, StreamAppend, StreamId,
};
use factum_memory::{Faults, InjectedFault, MemoryStore};
use serde::{Deserialize, Serialize};

const SEEDS: [u64; 3] = [1, 2, 3];
const WRITERS: u64 = 12;
const APPENDS_PER_WRITER: u64 = 20;
const SHARED_STREAMS: u64 = 3;

fn faulty_store(seed: u64) -> Arc<MemoryStore> {
    let faults = Faults::default()
        .with_failure_probability(0.2)
        .with_failure_after_write_probability(0.2)
        .with_latency_range(Duration::ZERO..=Duration::from_millis(2))
        .with_seed(seed);
    Arc::new(MemoryStore::with_faults(faults))
}

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

/// The injected faults the callers met, by kind, and what their retries
/// found stored already.
#[derive(Debug, Default)]
struct Seen {
    before: AtomicU64,
    after_write: AtomicU64,
    duplicates: AtomicU64,
}

impl Seen {
    /// Counts `error`, which must be an injected fault.
    fn fault(&self, error: &Error) {
        assert!(error.is_transient(), "a lasting error: {error}");
        match error
            .source()
            .and_then(|s| s.downcast_ref::<InjectedFault>())
        {
            Some(InjectedFault::Before) => self.before.fetch_add(1, Ordering::Relaxed),
            Some(InjectedFault::AfterWrite) => self.after_write.fetch_add(1, Ordering::Relaxed),
            None => panic!("not an injected fault: {error}"),
        };
    }

    /// Checks that both kinds of fault happened, and that retries found
    /// writes whose answer was lost.
    fn assert_all_kinds(&self) {
        let (before, after) = (
            self.before.load(Ordering::Relaxed),
            self.after_write.load(Ordering::Relaxed),
        );
        assert!(before > 0 && after > 0, "faults met: {self:?}");
    }
}

/// Calls `call` until it succeeds, counting the injected faults on the way.
async fn until_ok<T, F: Future<Output = Result<T>>>(seen: &Seen, mut call: impl FnMut() -> F) -> T {
    loop {
        match call().await {
            Ok(done) => return done,
            Err(e) => seen.fault(&e),
        }
    }
}

/// The whole feed, read through the faults.
async fn whole_feed(store: &MemoryStore, seen: &Seen) -> Vec<RecordedEvent> {
    let mut feed = Vec::new();
    let mut after = GlobalPosition::START;
    loop {
        let page = until_ok(seen, || store.read_all(after, 100)).await;
        let Some(last) = page.last() else {
            return feed;
        };
        after = last.position;
        feed.extend(page);
    }
}

fn keyed(key: &str) -> EventData {
    EventData::json("Keyed", format!(r#"{{"key":"{key}"}}"#).into_bytes()).with_idempotency_key(key)
}

/// One writer's appends, retried until they succeed; returns the keys it
/// meant to store. Even writers append pairs of events to shared streams
/// with `Any`; odd ones append pairs to a stream of their own with the
/// exact version, every fourth time together with an event to a shared
/// ledger, in one atomic call.
async fn write(store: Arc<MemoryStore>, seen: Arc<Seen>, writer: u64) -> Vec<String> {
    let owns_a_stream = !writer.is_multiple_of(2);
    let own = stream(&format!("own-{writer}"));
    let mut intended = Vec::new();
    for n in 0..APPENDS_PER_WRITER {
        let keys: Vec<String> = (0..2).map(|e| format!("w{writer}-a{n}-e{e}")).collect();
        let (target, expected) = match (owns_a_stream, n) {
            (false, _) => (
                stream(&format!("shared-{}", n % SHARED_STREAMS)),
                ExpectedVersion::Any,
            ),
            (true, 0) => (own.clone(), ExpectedVersion::NoStream),
            (true, n) => (own.clone(), ExpectedVersion::Exact(2 * n)),
        };
        let events = keys.iter().map(|k| keyed(k)).collect();
        let mut appends = vec![StreamAppend::new(target, expected, events)];
        intended.extend(keys);
        if owns_a_stream && n % 4 == 3 {
            let key = format!("w{writer}-a{n}-ledger");
            appends.push(StreamAppend::new(
                stream("ledger-1"),
                ExpectedVersion::Any,
                vec![keyed(&key)],
            ));
            intended.push(key);
        }
        let results = until_ok(&seen, || store.append_many(appends.clone())).await;
        let duplicates = results
            .iter()
            .flat_map(|r| &r.events)
            .filter(|e| matches!(e, EventOutcome::Duplicate { .. }))
            .count();
        seen.duplicates
            .fetch_add(duplicates as u64, Ordering::Relaxed);
    }
    intended
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_writers_lose_nothing_and_double_nothing_under_faults() {
    for seed in SEEDS {
        let store = faulty_store(seed);
        let seen = Arc::new(Seen::default());
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(write(store.clone(), seen.clone(), w)))
            .collect();
        let mut intended = Vec::new();
        for writer in writers {
            intended.extend(writer.await.expect("a writer finished"));
        }

        let feed = whole_feed(&store, &seen).await;
        let mut stored: HashMap<&str, u32> = HashMap::new();
        for event in &feed {
            let key = event
                .idempotency_key
                .as_deref()
                .expect("every event has a key");
            *stored.entry(key).or_default() += 1;
        }
        let doubled: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
        assert!(doubled.is_empty(), "seed {seed}: stored twice: {doubled:?}");
        let lost: Vec<_> = intended
            .iter()
            .filter(|k| !stored.contains_key(k.as_str()))
            .collect();
        assert!(lost.is_empty(), "seed {seed}: lost: {lost:?}");
        assert_eq!(
            feed.len(),
            intended.len(),
            "seed {seed}: nothing else is stored"
        );
        assert_increasing_positions(&feed);
        assert_contiguous_versions(&feed, 1);

        // A writer's own stream holds its events in the order it wrote them.
        for writer in (1..WRITERS).step_by(2) {
            let own = stream(&format!("own-{writer}"));
            let events = until_ok(&seen, || store.read_stream(&own, ReadOptions::all())).await;
            let keys: Vec<_> = events
                .iter()
                .filter_map(|e| e.idempotency_key.clone())
                .collect();
            let written: Vec<_> = intended
                .iter()
                .filter(|k| k.starts_with(&format!("w{writer}-")) && !k.ends_with("ledger"))
                .cloned()
                .collect();
            assert_eq!(keys, written, "seed {seed}: stream {own}");
        }
        seen.assert_all_kinds();
        assert!(
            seen.duplicates.load(Ordering::Relaxed) > 0,
            "seed {seed}: retries after lost answers found their events stored: {seen:?}"
        );
    }
}

/// An aggregate that remembers which requests it recorded, so that a
/// command handled again after a lost answer records nothing twice.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Ledger {
    requests: BTreeSet<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Recorded {
    request: u64,
}

impl DomainEvent for Recorded {
    const EVENT_TYPES: &'static [&'static str] = &["Recorded"];
    fn event_type(&self) -> &'static str {
        "Recorded"
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never refused")]
struct Never;

impl Aggregate for Ledger {
    const CATEGORY: &'static str = "ledger";
    type Event = Recorded;
    type Command = u64;
    type Error = Never;
    fn apply(&mut self, event: &Recorded) {
        self.requests.insert(event.request);
    }
    fn handle(&self, request: u64) -> Result<Vec<Recorded>, Never> {
        if self.requests.contains(&request) {
            return Ok(Vec::new());
        }
        Ok(vec![Recorded { request }])
    }
}

const LEDGERS: u64 = 4;
const TASKS_PER_LEDGER: u64 = 6;
const COMMANDS_PER_TASK: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_commands_record_each_request_once_under_faults() {
    for seed in SEEDS {
        let store = faulty_store(seed);
        let seen = Arc::new(Seen::default());
        let ledgers =
            Repository::<Ledger, _>::new(store.clone()).with_snapshots(SnapshotPolicy::Every(7));
        let tasks: Vec<_> = (0..LEDGERS * TASKS_PER_LEDGER)
            .map(|task| {
                let (ledgers, seen) = (ledgers.clone(), seen.clone());
                tokio::spawn(async move {
                    let id = (task % LEDGERS).to_string();
                    for n in 0..COMMANDS_PER_TASK {
                        let request = task * 100 + n;
                        loop {
                            match ledgers.execute(&id, request).await {
                                Ok(_) => break,
                                Err(ExecuteError::Store(e)) => seen.fault(&e),
                                Err(other) => panic!("ledger {id}, request {request}: {other}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a task finished");
        }

        for ledger in 0..LEDGERS {
            let id = ledger.to_string();
            let ledger_stream = ledgers.stream_id(&id).expect("a valid stream id");
            let events = until_ok(&seen, || {
                store.read_stream(&ledger_stream, ReadOptions::all())
            })
            .await;
            assert_contiguous_versions(&events, 1);
            assert_increasing_positions(&events);
            let recorded: Vec<u64> = events
                .iter()
                .map(|e| e.decode::<Recorded>().expect("decodes").request)
                .collect();
            let mut unique = recorded.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(
                unique.len(),
                recorded.len(),
                "seed {seed}: ledger {id} recorded a request twice"
            );
            let intended: BTreeSet<u64> = (0..LEDGERS * TASKS_PER_LEDGER)
                .filter(|task| task % LEDGERS == ledger)
                .flat_map(|task| (0..COMMANDS_PER_TASK).map(move |n| task * 100 + n))
                .collect();
            assert_eq!(
                unique,
                Vec::from_iter(intended.iter().copied()),
                "seed {seed}: ledger {id} lost a request"
            );
            // Loading (from a snapshot saved through the faults) agrees.
            let loaded = until_ok(&seen, || ledgers.load(&id)).await;
            assert_eq!(loaded.state.requests, intended, "seed {seed}: ledger {id}");
            assert_eq!(loaded.version, Some(intended.len() as u64));
        }
        seen.assert_all_kinds();
    }
}
