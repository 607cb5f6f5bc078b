//! The PostgreSQL feed waits only for transactions that write events: a
//! long transaction that writes other tables, in another database or in
//! this one, never holds it back, and when it appends after all its
//! events come after what the feed handed out meanwhile (under READ
//! COMMITTED and REPEATABLE READ). An open appending transaction holds it,
//! and `feed_held_back_by` names it. The stress test mixes writers of
//! every kind (alone, appending first, writing something else first, held
//! open, rolled back) under a reader that never waits.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use factum_core::{
    EventAppender, EventReader, ExpectedVersion, GlobalPosition, RecordedEvent, StreamAppend,
};
use factum_postgres::PostgresStore;
use factum_postgres::testing::TestSchema;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection, Executor};
use uuid::Uuid;

mod common;

use common::feed::{create_unrelated, event, patient, stream, write_unrelated};

fn one(name: &str, n: u64) -> Vec<StreamAppend> {
    vec![StreamAppend::new(
        stream(name),
        ExpectedVersion::Any,
        vec![event(n)],
    )]
}

/// A store that never waits, with a table `unrelated` beside its events.
async fn impatient() -> (PostgresStore, TestSchema) {
    let (store, schema) = common::feed::impatient().await;
    create_unrelated(&store).await;
    (store, schema)
}

/// Every event of the feed, read patiently.
async fn all(store: &PostgresStore) -> Vec<Uuid> {
    let events = patient(store)
        .read_all(GlobalPosition::START, 1000)
        .await
        .unwrap();
    events.iter().map(|e| e.event_id).collect()
}

/// A transaction of this database that has written something else, and no
/// event, does not hold the feed back, nor is it named; should it append
/// later, its events come after everything the feed has handed out.
#[tokio::test]
async fn a_long_unrelated_transaction_in_this_database_does_not_hold_the_feed() {
    let (store, _schema) = impatient().await;
    let mut other = store.pool().acquire().await.unwrap().detach();
    let mut batch = other.begin().await.unwrap();
    write_unrelated(&store, &mut batch).await;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *batch)
        .await
        .unwrap();

    store
        .append(&stream("a"), ExpectedVersion::Any, vec![event(1)])
        .await
        .unwrap();
    let seen = all(&store).await;
    assert_eq!(seen.len(), 1, "an unrelated transaction held the feed back");
    let holders = store.feed_held_back_by().await.unwrap();
    assert!(holders.iter().all(|h| h.pid != Some(pid)), "{holders:?}");

    // The batch appends after all: its event comes after the one handed
    // out, although its transaction began first.
    let late = store.append_in(&mut batch, one("late", 2)).await.unwrap();
    batch.commit().await.unwrap();
    let feed = patient(&store)
        .read_all(GlobalPosition::START, 10)
        .await
        .unwrap();
    let streams: Vec<&str> = feed.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["a", "late"]);
    assert_eq!(feed[1].position, late[0].events[0].position());
}

/// Under REPEATABLE READ too, a transaction that wrote something else
/// first and appends twice later puts its events after what the feed
/// handed out meanwhile, in the order it appended them.
#[tokio::test]
async fn a_repeatable_read_transaction_that_wrote_first_appends_after_the_feed() {
    let (store, _schema) = impatient().await;
    let mut other = store.pool().acquire().await.unwrap().detach();
    let mut batch = other.begin().await.unwrap();
    batch
        .execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    write_unrelated(&store, &mut batch).await;

    store
        .append(&stream("a"), ExpectedVersion::Any, vec![event(1)])
        .await
        .unwrap();
    let handed = all(&store).await;
    assert_eq!(handed.len(), 1);

    store.append_in(&mut batch, one("late", 2)).await.unwrap();
    store.append_in(&mut batch, one("late", 3)).await.unwrap();
    store
        .append(&stream("b"), ExpectedVersion::Any, vec![event(4)])
        .await
        .unwrap();
    batch.commit().await.unwrap();

    let feed = patient(&store)
        .read_all(GlobalPosition::START, 10)
        .await
        .unwrap();
    assert_eq!(feed[0].event_id, handed[0]);
    let late: Vec<u64> = feed
        .iter()
        .filter(|e| e.stream_id.as_str() == "late")
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(late, [1, 2]);
    assert_eq!(feed.len(), 4);
    for pair in feed.windows(2) {
        assert!(pair[0].position < pair[1].position);
    }
}

#[tokio::test]
async fn a_long_write_transaction_in_another_database_does_not_hold_the_feed() {
    let (store, schema) = impatient().await;
    let name = format!("{}_other", schema.schema().as_str());
    let create = format!("CREATE DATABASE \"{name}\"");
    store.pool().execute(AssertSqlSafe(create)).await.unwrap();
    let options = PgConnectOptions::from_str(schema.url())
        .unwrap()
        .database(&name);
    let mut other = PgConnection::connect_with(&options).await.unwrap();
    other.execute("CREATE TABLE t (n int)").await.unwrap();
    let mut batch = other.begin().await.unwrap();
    batch.execute("INSERT INTO t VALUES (1)").await.unwrap();

    store
        .append(&stream("a"), ExpectedVersion::Any, vec![event(1)])
        .await
        .unwrap();
    assert_eq!(
        all(&store).await.len(),
        1,
        "another database's transaction held the feed back"
    );
    assert!(store.feed_held_back_by().await.unwrap().is_empty());

    batch.rollback().await.unwrap();
    other.close().await.unwrap();
    let drop = format!("DROP DATABASE \"{name}\"");
    store.pool().execute(AssertSqlSafe(drop)).await.unwrap();
}

#[tokio::test]
async fn an_open_appending_transaction_holds_the_feed_and_is_named() {
    let (store, _schema) = impatient().await;
    let mut tx = store.pool().begin().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    store.append_in(&mut tx, one("held", 1)).await.unwrap();
    store
        .append(&stream("later"), ExpectedVersion::Any, vec![event(2)])
        .await
        .unwrap();

    let held = store.read_all(GlobalPosition::START, 10).await.unwrap();
    assert!(held.is_empty(), "an event passed an open writer");
    // Other tests' transactions in this database may hold it too.
    let holders = store.feed_held_back_by().await.unwrap();
    let ours = holders
        .iter()
        .find(|h| h.pid == Some(pid))
        .unwrap_or_else(|| panic!("the open transaction is not named: {holders:?}"));
    assert!(ours.since.is_some());
    assert_eq!(ours.state.as_deref(), Some("idle in transaction"));

    tx.commit().await.unwrap();
    let seen = patient(&store)
        .read_all(GlobalPosition::START, 10)
        .await
        .unwrap();
    let streams: Vec<&str> = seen.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["held", "later"]);
    let holders = store.feed_held_back_by().await.unwrap();
    assert!(holders.iter().all(|h| h.pid != Some(pid)), "{holders:?}");
}

const WRITERS: u64 = 6;
const TRANSACTIONS_PER_WRITER: u64 = 40;

/// A small deterministic choice generator (xorshift), one per writer.
struct Choices(u64);

impl Choices {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Writers append one to three events alone, in transactions that append
/// first, and in transactions that write something else first (under READ
/// COMMITTED or REPEATABLE READ); some hold
/// their transactions open, some roll back. A reader that never waits sees
/// every committed event once, in increasing position order, and no
/// rolled-back one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reader_sees_every_committed_event_once_among_every_kind_of_writer() {
    let (store, _schema) = impatient().await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut choices = Choices(0x9E37_79B9_7F4A_7C15 ^ (w + 1));
                let mut committed = Vec::new();
                let name = format!("writer-{w}");
                for t in 0..TRANSACTIONS_PER_WRITER {
                    let count = 1 + choices.next(3);
                    let events: Vec<_> =
                        (0..count).map(|i| event(w * 10_000 + t * 10 + i)).collect();
                    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                    let append = vec![StreamAppend::new(
                        stream(&name),
                        ExpectedVersion::Any,
                        events,
                    )];
                    let kind = choices.next(5);
                    if kind == 0 {
                        store.append_many(append).await.unwrap();
                        committed.extend(ids);
                        continue;
                    }
                    let mut tx = store.pool().begin().await.unwrap();
                    if kind == 4 {
                        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                            .await
                            .unwrap();
                    }
                    if kind >= 2 {
                        write_unrelated(&store, &mut tx).await;
                        tokio::time::sleep(Duration::from_millis(choices.next(10))).await;
                    }
                    store.append_in(&mut tx, append).await.unwrap();
                    if choices.next(3) == 0 {
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
    while !writers.iter().all(|w| w.is_finished()) {
        let page = store.read_all(after, 7).await.unwrap();
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
    let patient = patient(&store);
    loop {
        let page = patient.read_all(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        seen.extend(page);
    }

    for pair in seen.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "the feed went back or repeated"
        );
    }
    let seen_ids: Vec<Uuid> = seen.iter().map(|e| e.event_id).collect();
    let unique: HashSet<Uuid> = seen_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen_ids.len(),
        "an event was handed out twice"
    );
    let missing = committed.difference(&unique).count();
    let extra = unique.difference(&committed).count();
    assert!(
        missing == 0 && extra == 0,
        "the feed passed over {missing} committed events and handed out {extra} others"
    );
    // Each stream's versions are contiguous despite rollbacks and refusals.
    let mut versions: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &seen {
        versions
            .entry(e.stream_id.as_str())
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
