//! Guarantee 5 of `docs/design.md` on PostgreSQL: the global feed never
//! hands out an event while a transaction that could still commit an
//! earlier one is open. The stress test with many writers is in
//! `feed_horizon.rs`.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::time::Duration;

use factum_core::{
    EventAppender, EventReader, ExpectedVersion, GlobalPosition, RecordedEvent, StreamAppend,
};
use factum_postgres::{PostgresOptions, PostgresStore};
use uuid::Uuid;

mod common;

use common::feed::{event, impatient, patient, stream};

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
