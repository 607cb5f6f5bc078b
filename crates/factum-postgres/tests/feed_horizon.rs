//! The PostgreSQL feed waits only for transactions that write events:
//! long transactions that write anything else, in this database or
//! another, never hold it back; a transaction that writes events does,
//! and `feed_held_back_by` names it; a transaction that wrote something
//! else before its first event cannot have its events passed over (it is
//! refused, or begun with `PostgresStore::begin`). The stress test mixes
//! all of these under a reader that never waits.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use factum_core::{
    Error, EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, RecordedEvent,
    StreamAppend, StreamId,
};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresOptions, PostgresStore};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError};
use sqlx::{AssertSqlSafe, Connection, Executor};
use uuid::Uuid;

fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

fn event(n: u64) -> EventData {
    EventData::json("Fed", format!(r#"{{"n":{n}}}"#).into_bytes())
}

fn one(name: &str, n: u64) -> Vec<StreamAppend> {
    vec![StreamAppend::new(
        stream(name),
        ExpectedVersion::Any,
        vec![event(n)],
    )]
}

/// A store that never waits, with a table `unrelated` beside its events.
async fn impatient() -> (PostgresStore, TestSchema) {
    let (store, schema) =
        TestSchema::store_with(PostgresOptions::default().with_feed_wait(Duration::ZERO))
            .await
            .unwrap();
    let sql = format!("CREATE TABLE {}.unrelated (n int)", store.schema().quoted());
    store.pool().execute(AssertSqlSafe(sql)).await.unwrap();
    (store, schema)
}

/// Writes a row of `unrelated` on `conn`: its transaction gets an id.
async fn write_unrelated(store: &PostgresStore, conn: &mut PgConnection) {
    let sql = format!(
        "INSERT INTO {}.unrelated VALUES (1)",
        store.schema().quoted()
    );
    conn.execute(AssertSqlSafe(sql)).await.unwrap();
}

/// The same store, reading with a feed wait: it returns as soon as
/// nothing it may hand out is held back, and waits (up to 10 s) while
/// something is. What must be visible is read through it, so that a
/// transaction of another test caught at an unlucky instant cannot make
/// the test fail.
fn patient(store: &PostgresStore) -> PostgresStore {
    let options = PostgresOptions::default()
        .with_schema(store.schema().clone())
        .with_feed_wait(Duration::from_secs(10));
    PostgresStore::with_options(store.pool().clone(), options)
}

/// Every event of the feed, read patiently.
async fn all(store: &PostgresStore) -> Vec<Uuid> {
    let events = patient(store)
        .read_all(GlobalPosition::START, 1000)
        .await
        .unwrap();
    events.iter().map(|e| e.event_id).collect()
}

/// The SQLSTATE of a backend error's database error.
fn sqlstate(error: &Error) -> Option<String> {
    let Error::Backend { source, .. } = error else {
        return None;
    };
    let db = source.downcast_ref::<sqlx::Error>()?.as_database_error()?;
    Some(db.try_downcast_ref::<PgDatabaseError>()?.code().to_owned())
}

#[tokio::test]
async fn a_long_write_transaction_in_the_same_database_does_not_hold_the_feed() {
    let (store, _schema) = impatient().await;
    let mut other = store.pool().acquire().await.unwrap().detach();
    let mut batch = other.begin().await.unwrap();
    write_unrelated(&store, &mut batch).await;
    // `batch` now sits idle in a transaction that has an id.

    let written = store
        .append(&stream("a"), ExpectedVersion::Any, vec![event(1)])
        .await
        .unwrap();
    let seen = store.read_all(GlobalPosition::START, 10).await.unwrap();
    assert_eq!(
        seen.len(),
        1,
        "the unrelated transaction held the feed back"
    );
    assert_eq!(seen[0].position, written.events[0].position());
    assert_eq!(store.head_position().await.unwrap(), Some(seen[0].position));
    assert!(store.feed_held_back_by().await.unwrap().is_empty());
    batch.rollback().await.unwrap();
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
    let mut tx = store.begin().await.unwrap();
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
    let holders = store.feed_held_back_by().await.unwrap();
    assert_eq!(holders.len(), 1, "{holders:?}");
    assert_eq!(holders[0].pid, Some(pid));
    assert!(holders[0].since.is_some());
    assert_eq!(holders[0].state.as_deref(), Some("idle in transaction"));

    tx.commit().await.unwrap();
    let seen = patient(&store)
        .read_all(GlobalPosition::START, 10)
        .await
        .unwrap();
    let streams: Vec<&str> = seen.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["held", "later"]);
    assert!(store.feed_held_back_by().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_transaction_that_wrote_first_cannot_append_behind_the_feed() {
    let (store, _schema) = impatient().await;
    let mut tx = store.pool().begin().await.unwrap();
    write_unrelated(&store, &mut tx).await;
    // A newer transaction's event is stored, and may be handed out: this
    // transaction's id is older than it.
    store
        .append(&stream("newer"), ExpectedVersion::Any, vec![event(1)])
        .await
        .unwrap();
    assert_eq!(all(&store).await.len(), 1);

    let refused = store.append_in(&mut tx, one("late", 2)).await.unwrap_err();
    assert_eq!(sqlstate(&refused).as_deref(), Some("40001"), "{refused}");
    assert!(
        refused.to_string().contains("wrote before its first event"),
        "{refused}"
    );
    tx.rollback().await.unwrap();

    // With nothing newer stored, the same order of writes is fine.
    let (store, _schema) = impatient().await;
    let mut tx = store.pool().begin().await.unwrap();
    write_unrelated(&store, &mut tx).await;
    store.append_in(&mut tx, one("alone", 1)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(all(&store).await.len(), 1);
}

#[tokio::test]
async fn under_repeatable_read_a_transaction_must_append_first() {
    let (store, _schema) = impatient().await;
    let mut tx = store.pool().begin().await.unwrap();
    tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    write_unrelated(&store, &mut tx).await;
    let refused = store.append_in(&mut tx, one("late", 1)).await.unwrap_err();
    assert_eq!(sqlstate(&refused).as_deref(), Some("40001"), "{refused}");
    tx.rollback().await.unwrap();

    let mut tx = store.pool().begin().await.unwrap();
    tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    store.append_in(&mut tx, one("first", 1)).await.unwrap();
    write_unrelated(&store, &mut tx).await;
    store.append_in(&mut tx, one("first", 2)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(all(&store).await.len(), 2);
}

#[tokio::test]
async fn a_transaction_begun_by_the_store_may_write_first_and_is_never_passed() {
    let (store, _schema) = impatient().await;
    let mut tx = store.begin().await.unwrap();
    write_unrelated(&store, &mut tx).await;
    store
        .append(&stream("newer"), ExpectedVersion::Any, vec![event(1)])
        .await
        .unwrap();
    // The reader's view while the transaction is open.
    let before: Vec<RecordedEvent> = store.read_all(GlobalPosition::START, 10).await.unwrap();
    store.append_in(&mut tx, one("begun", 2)).await.unwrap();
    tx.commit().await.unwrap();

    let after = before.last().map_or(GlobalPosition::START, |e| e.position);
    let rest = patient(&store).read_all(after, 10).await.unwrap();
    let mut seen: Vec<&str> = before
        .iter()
        .chain(&rest)
        .map(|e| e.stream_id.as_str())
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        ["begun", "newer"],
        "an event was passed over or repeated"
    );
}

#[tokio::test]
async fn begin_refuses_a_transaction_that_wrote_already() {
    let (store, _schema) = impatient().await;
    let mut tx = store.pool().begin().await.unwrap();
    write_unrelated(&store, &mut tx).await;
    let sql = format!("SELECT {}.begin_feed_writer()", store.schema().quoted());
    let refused = tx.execute(AssertSqlSafe(sql)).await.unwrap_err();
    assert!(
        refused.to_string().contains("must come before"),
        "{refused}"
    );
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

/// Writers append one to three events alone, in transactions that append first, in store-begun
/// transactions that write something else first, and in plain
/// transactions that write something else first (refused when the feed may
/// have passed them); some hold their transactions open, some roll back.
/// Meanwhile a transaction in the same database writes and stays open the
/// whole time. A reader that never waits sees every committed event once,
/// in increasing position order, and no rolled-back or refused one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reader_sees_every_committed_event_once_among_unrelated_writes() {
    let (store, _schema) = impatient().await;
    let mut long = store.pool().acquire().await.unwrap().detach();
    let mut long_tx = long.begin().await.unwrap();
    write_unrelated(&store, &mut long_tx).await;

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
                    let kind = choices.next(4);
                    if kind == 0 {
                        store.append_many(append).await.unwrap();
                        committed.extend(ids);
                        continue;
                    }
                    let mut tx = if kind == 2 {
                        store.begin().await.unwrap()
                    } else {
                        store.pool().begin().await.unwrap()
                    };
                    if kind >= 2 {
                        write_unrelated(&store, &mut tx).await;
                        // The window in which the feed may pass this transaction.
                        tokio::time::sleep(Duration::from_millis(1 + choices.next(10))).await;
                    }
                    match store.append_in(&mut tx, append).await {
                        Ok(_) => {}
                        Err(e) => {
                            assert!(
                                kind == 3,
                                "only a plain transaction that wrote first may be refused: {e}"
                            );
                            assert_eq!(sqlstate(&e).as_deref(), Some("40001"), "{e}");
                            tx.rollback().await.unwrap();
                            continue;
                        }
                    }
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
    // The long transaction is still open: the rest is final regardless.
    let patient = patient(&store);
    loop {
        let page = patient.read_all(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        seen.extend(page);
    }
    long_tx.rollback().await.unwrap();

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
