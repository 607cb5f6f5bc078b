//! Transactions that write no events, ending while the feed is read, do
//! not move it back: the head stays where it was while they commit around
//! it. And the commit ids drawn by transactions that wrote elsewhere
//! before appending leave no lasting rows behind.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use factum_core::{EventAppender, EventReader, ExpectedVersion, GlobalPosition, StreamAppend};
use factum_postgres::PostgresStore;
use factum_postgres::testing::OwnServer;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPoolOptions;

mod common;

use common::feed::{create_unrelated, event, impatient, patient, stream, write_unrelated};

/// Bystanders (transactions on another table) begin before an event is
/// appended, so their ids are older than the event's; the head moves to
/// the event (they write no events), and then they commit one after the
/// other while a reader reads the head in a loop: it never moves back, 50
/// rounds of 4 bystanders.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bystanders_ending_never_move_the_head_back() {
    let (store, _schema) = impatient().await;
    create_unrelated(&store).await;
    let mut moved = Vec::new();
    for round in 0..50 {
        let mut bystanders = Vec::new();
        for _ in 0..4 {
            let mut tx = store.pool().begin().await.unwrap();
            write_unrelated(&store, &mut tx).await;
            bystanders.push(tx);
        }
        let written = store
            .append(&stream("a"), ExpectedVersion::Any, vec![event(round)])
            .await
            .unwrap();
        let head = Some(written.events[0].position());
        assert_eq!(patient(&store).head_position().await.unwrap(), head);

        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut moved = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let now = store.head_position().await.unwrap();
                    if now != head {
                        moved.push((head, now));
                    }
                }
                moved
            })
        };
        for tx in bystanders {
            tx.commit().await.unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        moved.extend(reader.await.unwrap());
    }
    assert!(
        moved.is_empty(),
        "the head moved {} times while bystanders committed, e.g. from {:?} to {:?}",
        moved.len(),
        moved[0].0,
        moved[0].1
    );
}

/// 200 transactions that write another table, then append, one after the
/// other: each draws a fresh commit id (its events come after everything
/// before them), and each draw removes the rows of earlier ones, which no
/// reader can need any more. On a server of its own, so that no other
/// test's snapshot keeps old rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drawn_commit_ids_leave_no_lasting_rows() {
    let server = OwnServer::start().await.unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(server.url())
        .await
        .unwrap();
    let store = PostgresStore::new(pool);
    store.migrate().await.unwrap();
    create_unrelated(&store).await;

    let mut last = GlobalPosition::START;
    for n in 0..200 {
        let mut tx = store.pool().begin().await.unwrap();
        write_unrelated(&store, &mut tx).await;
        let append = vec![StreamAppend::new(
            stream("late"),
            ExpectedVersion::Any,
            vec![event(n)],
        )];
        let written = store.append_in(&mut tx, append).await.unwrap();
        tx.commit().await.unwrap();
        let position = written[0].events[0].position();
        assert!(position > last, "{position} after {last}");
        last = position;
    }
    let sql = format!(
        "SELECT count(*) FROM {}.commit_id_draws",
        store.schema().quoted()
    );
    let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(rows <= 2, "{rows} rows of drawn commit ids remain");
    let feed = store.read_all(GlobalPosition::START, 500).await.unwrap();
    assert_eq!(feed.len(), 200);
}
