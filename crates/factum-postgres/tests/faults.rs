//! Connections killed in the middle of appends: every append is then
//! entirely stored or not at all, and retrying it with the same idempotency
//! keys never stores an event twice.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamAppend, StreamId,
};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresOptions, PostgresStore};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const TASKS: u64 = 4;
const APPENDS_PER_TASK: u64 = 30;
const EVENTS_PER_APPEND: u64 = 3;

/// One append: three keyed events, on the task's own stream and a shared
/// one, so that a kill can land between any two of its writes.
fn batch(task: u64, n: u64) -> Vec<StreamAppend> {
    let keyed = |i: u64| {
        EventData::json(
            "Faulted",
            format!(r#"{{"task":{task},"n":{n},"i":{i}}}"#).into_bytes(),
        )
        .with_idempotency_key(format!("fault-{task}-{n}-{i}"))
    };
    vec![
        StreamAppend::new(
            StreamId::new(format!("fault-{task}")).unwrap(),
            ExpectedVersion::Any,
            (0..EVENTS_PER_APPEND - 1).map(keyed).collect(),
        ),
        StreamAppend::new(
            StreamId::new("fault-shared").unwrap(),
            ExpectedVersion::Any,
            vec![keyed(EVENTS_PER_APPEND - 1)],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_connections_leave_whole_appends_and_retries_write_once() {
    let (_, schema) = TestSchema::store().await.unwrap();
    // A pool whose sessions carry a name of their own, so that the killer
    // only hits this test's connections.
    let app = format!("kill-{}", schema.schema());
    let connect = PgConnectOptions::from_str(schema.url())
        .unwrap()
        .application_name(&app);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(connect)
        .await
        .unwrap();
    let store = PostgresStore::with_options(
        pool,
        PostgresOptions::default().with_schema(schema.schema().clone()),
    );
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(schema.url())
        .await
        .unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicU64::new(0));
    let killer = {
        let (done, kills, app) = (done.clone(), kills.clone(), app.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let killed: i64 = sqlx::query_scalar(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE application_name = $1 AND state = 'active'",
                )
                .bind(&app)
                .fetch_one(&admin)
                .await
                .unwrap();
                kills.fetch_add(killed as u64, Ordering::Relaxed);
                // Pace the faults so that appends also get through.
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            admin
        })
    };

    let failures = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, failures) = (store.clone(), failures.clone());
            tokio::spawn(async move {
                for n in 0..APPENDS_PER_TASK {
                    // Retry the same append (same keys) until it goes through.
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        match store.append_many(batch(task, n)).await {
                            Ok(results) => {
                                let positions: Vec<_> = results
                                    .iter()
                                    .flat_map(|r| r.events.iter().map(|e| e.position()))
                                    .collect();
                                assert_eq!(positions.len() as u64, EVENTS_PER_APPEND);
                                break;
                            }
                            Err(e) => {
                                assert!(
                                    matches!(e, factum_core::Error::Unavailable { .. })
                                        && e.is_transient(),
                                    "a killed connection must surface as Unavailable: {e}"
                                );
                                failures.fetch_add(1, Ordering::Relaxed);
                                assert!(
                                    attempts < 1000,
                                    "append {task}/{n} never went through: {e}"
                                );
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let admin = killer.await.unwrap();
    let kills = kills.load(Ordering::Relaxed);
    assert!(kills > 0, "no connection was killed");
    assert!(
        failures.load(Ordering::Relaxed) > 0,
        "no append was interrupted"
    );

    // Every append is whole: its three keys exist, once each, in one
    // transaction.
    let q = schema.schema().quoted();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT idempotency_key, transaction_id::text FROM {q}.events"
    )))
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(
        rows.len() as u64,
        TASKS * APPENDS_PER_TASK * EVENTS_PER_APPEND
    );
    let mut transactions: HashMap<String, String> = HashMap::new();
    for row in &rows {
        let key: String = row.get(0);
        let xid: String = row.get(1);
        assert!(
            transactions.insert(key, xid).is_none(),
            "a key is stored twice"
        );
    }
    for task in 0..TASKS {
        for n in 0..APPENDS_PER_TASK {
            let xids: Vec<&String> = (0..EVENTS_PER_APPEND)
                .map(|i| &transactions[&format!("fault-{task}-{n}-{i}")])
                .collect();
            assert!(
                xids.windows(2).all(|w| w[0] == w[1]),
                "append {task}/{n} is split: {xids:?}"
            );
        }
    }

    // Retrying everything once more writes nothing.
    for task in 0..TASKS {
        for n in 0..APPENDS_PER_TASK {
            let results = store.append_many(batch(task, n)).await.unwrap();
            assert!(
                results.iter().all(|r| r.is_duplicate()),
                "retry {task}/{n} wrote again"
            );
        }
    }
    let shared = store
        .read_stream(&StreamId::new("fault-shared").unwrap(), ReadOptions::all())
        .await
        .unwrap();
    let versions: Vec<u64> = shared.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, (1..=TASKS * APPENDS_PER_TASK).collect::<Vec<_>>());
    drop(store);
    drop(schema);
    eprintln!("killed {kills} connections");
}
