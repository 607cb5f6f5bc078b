//! Applying the schema (by the store, twice, or by other tooling) and
//! appending inside the caller's transaction.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{
    Error, EventData, EventReader, ExpectedVersion, ReadOptions, StreamAppend, StreamId,
};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresOptions, PostgresStore};
use sqlx::{AssertSqlSafe, Executor};

fn event(n: u64) -> EventData {
    EventData::json("Set", format!(r#"{{"n":{n}}}"#).into_bytes())
}

/// `migrate` twice (and from two stores at once) applies the files once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_is_idempotent_and_recorded_in_the_schema() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let other = store.clone();
    let (a, b) = tokio::join!(store.migrate(), other.migrate());
    a.unwrap();
    b.unwrap();
    let sql = format!(
        "SELECT count(*) FROM {}._sqlx_migrations WHERE success",
        schema.schema().quoted()
    );
    let applied: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(store.pool())
        .await
        .unwrap();
    let files = migration_files().len();
    assert_eq!(applied, files as i64, "each migration file applied once");
}

/// The migration files, in the order they apply.
fn migration_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

/// The migration files applied by hand, in order (as other tooling would,
/// with the schema first on search_path), gives a schema the store works with, from
/// a pool whose search_path is the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_applied_by_other_tooling_works() {
    let schema = TestSchema::create().await.unwrap();
    let pool = sqlx::PgPool::connect(schema.url()).await.unwrap();
    let mut conn = pool.acquire().await.unwrap().detach();
    conn.execute(AssertSqlSafe(format!(
        "SET search_path TO {}",
        schema.schema().quoted()
    )))
    .await
    .unwrap();
    for file in migration_files() {
        let sql = std::fs::read_to_string(file).unwrap();
        conn.execute(sqlx::raw_sql(AssertSqlSafe(sql)))
            .await
            .unwrap();
    }
    drop(conn);

    let store = PostgresStore::with_options(
        pool,
        PostgresOptions::default().with_schema(schema.schema().clone()),
    );
    let s = StreamId::new("by-hand").unwrap();
    store
        .append_in(
            &mut store.pool().acquire().await.unwrap(),
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::NoStream,
                vec![event(1).with_idempotency_key("k1")],
            )],
        )
        .await
        .unwrap();
    let read = store.read_stream(&s, ReadOptions::all()).await.unwrap();
    assert_eq!(read.len(), 1);
}

/// A conflict inside the caller's transaction leaves that transaction
/// usable; what it appended commits or rolls back with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_in_keeps_the_callers_transaction() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let s = StreamId::new("tx-1").unwrap();
    let one = |expected, n| vec![StreamAppend::new(s.clone(), expected, vec![event(n)])];

    let mut tx = store.pool().begin().await.unwrap();
    store
        .append_in(&mut tx, one(ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    let err = store
        .append_in(&mut tx, one(ExpectedVersion::NoStream, 2))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::VersionConflict {
                actual: Some(1),
                ..
            }
        ),
        "{err}"
    );
    // The same through the function path (a key makes it take that path).
    let keyed = vec![StreamAppend::new(
        s.clone(),
        ExpectedVersion::Exact(7),
        vec![event(3).with_idempotency_key("tx-key")],
    )];
    let err = store.append_in(&mut tx, keyed).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::VersionConflict {
                actual: Some(1),
                ..
            }
        ),
        "{err}"
    );
    store
        .append_in(&mut tx, one(ExpectedVersion::Exact(1), 4))
        .await
        .unwrap();
    // Not visible outside before the commit.
    assert_eq!(store.stream_version(&s).await.unwrap(), None);
    tx.commit().await.unwrap();
    assert_eq!(store.stream_version(&s).await.unwrap(), Some(2));

    let mut tx = store.pool().begin().await.unwrap();
    store
        .append_in(&mut tx, one(ExpectedVersion::Exact(2), 5))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let versions: Vec<u64> = store
        .read_stream(&s, ReadOptions::all())
        .await
        .unwrap()
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(versions, vec![1, 2]);
}

/// Multi-stream appends naming the same streams in opposite orders, all at
/// once, never deadlock: streams are locked in one global order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crossing_multi_stream_appends_do_not_deadlock() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let (a, b) = (
        StreamId::new("cross-a").unwrap(),
        StreamId::new("cross-b").unwrap(),
    );
    let tasks: Vec<_> = (0..8u64)
        .map(|task| {
            let (store, a, b) = (store.clone(), a.clone(), b.clone());
            tokio::spawn(async move {
                for n in 0..20 {
                    let (first, second) = if task % 2 == 0 { (&a, &b) } else { (&b, &a) };
                    let appends = vec![
                        StreamAppend::new(first.clone(), ExpectedVersion::Any, vec![event(n)]),
                        StreamAppend::new(second.clone(), ExpectedVersion::Any, vec![event(n)]),
                    ];
                    factum_core::EventAppender::append_many(&store, appends)
                        .await
                        .unwrap_or_else(|e| panic!("task {task} append {n}: {e}"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.stream_version(&a).await.unwrap(), Some(160));
    assert_eq!(store.stream_version(&b).await.unwrap(), Some(160));
}

/// A test that leaves a session in a transaction holding locks in its schema
/// (a panicking task, a leaked connection) still gets its schema dropped:
/// the guard ends such sessions instead of waiting for them for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_is_dropped_even_with_a_transaction_left_open_in_it() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let name = schema.schema().as_str().to_owned();
    let mut leaked = store.pool().acquire().await.unwrap().detach();
    let q = schema.schema().quoted();
    leaked
        .execute(AssertSqlSafe(format!(
            "BEGIN; CREATE TABLE {q}.held (n int); INSERT INTO {q}.held VALUES (1)"
        )))
        .await
        .unwrap();
    // The connection is never closed nor rolled back.
    std::mem::forget(leaked);
    drop(schema);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&name)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(left, 0, "the schema outlived its guard");
}
