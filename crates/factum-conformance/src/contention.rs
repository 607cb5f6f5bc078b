//! Commands under contention: many tasks executing on one aggregate at
//! once, with the repository's default settings, and a command that loses
//! every race.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::interfering::Interfering;
use super::support::versions;
use factum_core::aggregate::{Aggregate, ExecuteError, Repository};
use factum_core::{Codec, DomainEvent, Error, EventStore, ExpectedVersion, Json};

/// Tasks in the burst.
const BURST: u64 = 50;
/// The mark of the writer that beats the repository to every append.
const SNEAKED: u64 = 1_000;

/// An aggregate that accepts every command: a tally of marks.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Tally {
    marks: Vec<u64>,
}

/// One mark, by the task that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marked {
    by: u64,
}

impl DomainEvent for Marked {
    const EVENT_TYPES: &'static [&'static str] = &["Marked"];
    fn event_type(&self) -> &'static str {
        "Marked"
    }
}

/// Never happens: a tally accepts every command.
#[derive(Debug, thiserror::Error)]
#[error("a tally accepts every mark")]
struct Never;

impl Aggregate for Tally {
    const CATEGORY: &'static str = "tally";
    type Event = Marked;
    type Command = u64;
    type Error = Never;

    fn apply(&mut self, event: &Marked) {
        self.marks.push(event.by);
    }

    fn handle(&self, by: u64) -> Result<Vec<Marked>, Never> {
        Ok(vec![Marked { by }])
    }
}

/// 50 tasks, each with its own clone of one repository with default
/// settings, execute an always-accepted command on one aggregate at once:
/// every command lands (its retries back off until it does), and the
/// stream holds versions 1..=50, one event per task.
pub async fn repository_burst_on_one_aggregate_lands_in_full(store: &Arc<dyn EventStore>) {
    let tallies = Repository::<Tally, _>::new(store.clone());
    let start = Arc::new(tokio::sync::Barrier::new(BURST as usize));
    let tasks: Vec<_> = (0..BURST)
        .map(|task| {
            let (tallies, start) = (tallies.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                tallies
                    .execute("burst", task)
                    .await
                    .map(|done| done.attempts)
            })
        })
        .collect();
    let mut failed = Vec::new();
    let mut attempts = 0;
    for task in tasks {
        match task.await.expect("task finished") {
            Ok(n) => attempts += n,
            Err(e) => failed.push(e.to_string()),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {BURST} commands failed with the default retries ({attempts} attempts by the \
         others); the first: {}",
        failed.len(),
        failed[0]
    );
    let stream = tallies.stream_id("burst").expect("stream id");
    assert_eq!(
        versions(store.as_ref(), &stream).await,
        (1..=BURST).collect::<Vec<_>>(),
        "one event per command, versions contiguous"
    );
    let mut marks = tallies.load("burst").await.expect("load").state.marks;
    marks.sort_unstable();
    assert_eq!(
        marks,
        (0..BURST).collect::<Vec<_>>(),
        "each task's mark once"
    );
}

/// When a concurrent writer beats every attempt, the command fails after
/// the retry limit with `RetriesExhausted`, counting the attempts and
/// carrying the last conflict, whose text names the stream and both
/// versions; the command's own event is never written.
pub async fn repository_reports_exhausted_retries(store: &Arc<dyn EventStore>) {
    let interfering = Interfering {
        inner: store.clone(),
        event: || Json.encode(&Marked { by: SNEAKED }).expect("encode"),
    };
    let tallies = Repository::<Tally, _>::new(interfering)
        .with_max_retries(2)
        .with_retry_pauses(Duration::ZERO, Duration::ZERO);
    let err = match tallies.execute("beaten", 7).await {
        Ok(done) => panic!("every attempt conflicts, yet it landed: {done:?}"),
        Err(e) => e,
    };
    assert_eq!(err.attempts(), Some(3), "1 attempt + 2 retries: {err:?}");
    match &err {
        ExecuteError::RetriesExhausted {
            attempts: 3,
            last:
                Error::VersionConflict {
                    stream,
                    expected: ExpectedVersion::Exact(2),
                    actual: Some(3),
                },
        } => assert_eq!(stream.as_str(), "tally-beaten"),
        other => panic!("expected RetriesExhausted after the third conflict, got {other:?}"),
    }
    let text = err.to_string();
    for part in [
        "3 attempts",
        "tally-beaten",
        "expected version 2",
        "at version 3",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    let marks = tallies.load("beaten").await.expect("load").state.marks;
    assert_eq!(marks, [SNEAKED; 3], "only the concurrent writer's events");
}
