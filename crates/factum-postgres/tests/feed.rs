//! Guarantee 5 of `docs/design.md` on PostgreSQL: the global feed never
//! hands out an event while a transaction that could still commit an
//! earlier one is open.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, RecordedEvent,
    StreamAppend, StreamId,
};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresOptions, PostgresStore};
use uuid::Uuid;

fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

fn event(n: u64) -> EventData {
    EventData::json("Fed", format!(r#"{{"n":{n}}}"#).into_bytes())
}

/// A store on the same pool and schema whose feed reads wait long enough
/// for short transactions elsewhere on the server (other tests) to end.
fn patient(store: &PostgresStore) -> PostgresStore {
    let options = PostgresOptions::default()
        .with_schema(store.schema().clone())
        .with_feed_wait(Duration::from_secs(30));
    PostgresStore::with_options(store.pool().clone(), options)
}

/// A store that never waits: it shows exactly what is final right now.
async fn impatient() -> (PostgresStore, TestSchema) {
    TestSchema::store_with(PostgresOptions::default().with_feed_wait(Duration::ZERO))
        .await
        .unwrap()
}

fn ids(events: &[RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

/// Writer 1 opens a transaction and appends; writer 2 appends and commits
/// after it. Until writer 1 ends, the feed shows neither (writer 2's event
/// is ordered after writer 1's); once writer 1 commits, both appear, in
/// order, after what the reader had already seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_commit_is_neither_skipped_nor_overtaken() {
    let (store, _schema) = impatient().await;
    let patient = patient(&store);
    let before = store
        .append(&stream("w0"), ExpectedVersion::Any, vec![event(0)])
        .await
        .unwrap();
    let seen = patient.read_all(GlobalPosition::START, 100).await.unwrap();
    assert_eq!(ids(&seen).len(), 1);
    let checkpoint = seen[0].position;
    assert_eq!(Some(checkpoint), before.written_positions().next());

    let mut tx1 = store.pool().begin().await.unwrap();
    let first = store
        .append_in(
            &mut tx1,
            vec![StreamAppend::new(
                stream("w1"),
                ExpectedVersion::Any,
                vec![event(1)],
            )],
        )
        .await
        .unwrap();
    let second = store
        .append(&stream("w2"), ExpectedVersion::Any, vec![event(2)])
        .await
        .unwrap();
    let p1 = first[0].events[0].position();
    let p2 = second.events[0].position();
    assert!(
        p1 < p2,
        "the earlier transaction orders first: {p1} vs {p2}"
    );

    // Writer 2 has committed, but writer 1 could still commit before it.
    assert!(store.read_all(checkpoint, 100).await.unwrap().is_empty());
    assert_eq!(store.head_position().await.unwrap(), Some(checkpoint));
    // Waiting does not help while writer 1 is open: the read returns what
    // is final once its wait is over.
    let waiting = PostgresStore::with_options(
        store.pool().clone(),
        PostgresOptions::default()
            .with_schema(store.schema().clone())
            .with_feed_wait(Duration::from_millis(100)),
    );
    assert!(waiting.read_all(checkpoint, 100).await.unwrap().is_empty());

    tx1.commit().await.unwrap();
    let after = patient.read_all(checkpoint, 100).await.unwrap();
    let positions: Vec<_> = after.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![p1, p2]);
    assert_eq!(patient.head_position().await.unwrap(), Some(p2));
}

/// The same, but writer 1 rolls back: then only writer 2's event appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_writer_releases_the_feed() {
    let (store, _schema) = impatient().await;
    let patient = patient(&store);
    let mut tx1 = store.pool().begin().await.unwrap();
    store
        .append_in(
            &mut tx1,
            vec![StreamAppend::new(
                stream("w1"),
                ExpectedVersion::Any,
                vec![event(1)],
            )],
        )
        .await
        .unwrap();
    let second = store
        .append(&stream("w2"), ExpectedVersion::Any, vec![event(2)])
        .await
        .unwrap();
    assert!(
        store
            .read_all(GlobalPosition::START, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.head_position().await.unwrap(), None);

    tx1.rollback().await.unwrap();
    let after = patient.read_all(GlobalPosition::START, 100).await.unwrap();
    assert_eq!(
        after.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![second.events[0].position()]
    );
    assert_eq!(patient.stream_version(&stream("w1")).await.unwrap(), None);
}

const WRITERS: u64 = 8;
const TRANSACTIONS_PER_WRITER: u64 = 30;

/// A tiny deterministic generator, so that each writer's choices differ
/// but every run makes the same ones.
struct Choices(u64);

impl Choices {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// 8 writers append in transactions of one to three events, some of which
/// are delayed before they commit and some rolled back, while a reader
/// pages the feed without waiting. The reader sees every committed event
/// exactly once, in increasing position order, and no rolled-back one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reader_sees_every_committed_event_once_in_order() {
    let (store, _schema) = impatient().await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut choices = Choices(0x9E37_79B9_7F4A_7C15 ^ (w + 1));
                let mut committed = Vec::new();
                let s = stream(&format!("writer-{w}"));
                for t in 0..TRANSACTIONS_PER_WRITER {
                    let count = 1 + choices.next(3);
                    let events: Vec<_> =
                        (0..count).map(|i| event(w * 10_000 + t * 10 + i)).collect();
                    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                    let mut tx = store.pool().begin().await.unwrap();
                    store
                        .append_in(
                            &mut tx,
                            vec![StreamAppend::new(s.clone(), ExpectedVersion::Any, events)],
                        )
                        .await
                        .unwrap();
                    if choices.next(3) == 0 {
                        // Hold the transaction open while others commit.
                        tokio::time::sleep(Duration::from_millis(1 + choices.next(20))).await;
                    }
                    if choices.next(5) == 0 {
                        tx.rollback().await.unwrap();
                    } else {
                        tx.commit().await.unwrap();
                        committed.extend(ids);
                    }
                }
                committed
            })
        })
        .collect();

    let mut seen: Vec<RecordedEvent> = Vec::new();
    let mut after = GlobalPosition::START;
    let mut pages = 0u64;
    while !writers.iter().all(|w| w.is_finished()) {
        let page = store.read_all(after, 7).await.unwrap();
        pages += 1;
        if let Some(last) = page.last() {
            after = last.position;
        } else {
            tokio::task::yield_now().await;
        }
        seen.extend(page);
    }
    let mut committed = HashSet::new();
    for writer in writers {
        committed.extend(writer.await.unwrap());
    }
    // Catch up on what was committed last.
    let patient = patient(&store);
    loop {
        let page = patient.read_all(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        seen.extend(page);
    }

    assert!(pages > 1, "the reader read while the writers wrote");
    for pair in seen.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "the feed went back from {} to {}",
            pair[0].position,
            pair[1].position
        );
    }
    let seen_ids: Vec<Uuid> = ids(&seen);
    let unique: HashSet<Uuid> = seen_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen_ids.len(),
        "an event was handed out twice"
    );
    assert_eq!(
        unique, committed,
        "the feed and the committed events differ"
    );
    // Each stream's versions are contiguous despite the rollbacks.
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in &seen {
        versions
            .entry(e.stream_id.to_string())
            .or_default()
            .push(e.stream_version);
    }
    for (s, v) in versions {
        assert_eq!(
            v,
            (1..=v.len() as u64).collect::<Vec<_>>(),
            "versions of {s}"
        );
    }
}
