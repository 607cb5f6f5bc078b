//! Connecting: the pool built from the options, and failures that say why.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::time::Duration;

use factum_core::{EventAppender, EventData, ExpectedVersion, StreamId};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresOptions, PostgresStore};
use sqlx::AssertSqlSafe;

/// `connect_with` sizes its pool and bounds its waits by the options, and
/// puts the tables in the options' schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_builds_its_pool_from_the_options() {
    let schema = TestSchema::create().await.unwrap();
    let options = PostgresOptions::default()
        .with_schema(schema.schema().clone())
        .with_max_connections(3)
        .with_connect_timeout(Duration::from_secs(7));
    let store = PostgresStore::connect_with(schema.url(), options)
        .await
        .unwrap();
    assert_eq!(store.pool().options().get_max_connections(), 3);
    assert_eq!(
        store.pool().options().get_acquire_timeout(),
        Duration::from_secs(7)
    );
    let stream = StreamId::new("connect-1").unwrap();
    let event = EventData::json("Connected", b"{}".to_vec());
    store
        .append(&stream, ExpectedVersion::NoStream, vec![event])
        .await
        .unwrap();
    let sql = format!("SELECT count(*) FROM {}.events", schema.schema().quoted());
    let stored: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1, "the event is in the options' schema");
}

/// Nothing listens on port 1: connecting gives up at the timeout with an
/// `Unavailable` error naming the server and the driver's reason, not the
/// pool's "timed out".
#[tokio::test]
async fn a_refused_connection_fails_with_the_drivers_reason() {
    let options = PostgresOptions::default().with_connect_timeout(Duration::from_millis(200));
    let err = PostgresStore::connect_with("postgres://app:secret@127.0.0.1:1/orders", options)
        .await
        .expect_err("nothing listens on port 1");
    assert!(err.is_transient(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.to_lowercase().contains("connection refused"),
        "the driver's reason: {text}"
    );
    assert!(text.contains("127.0.0.1:1, database orders"), "{text}");
    assert!(text.contains("gave up after 200ms"), "{text}");
    assert!(!text.contains("secret"), "no password in: {text}");
    assert!(!text.to_lowercase().contains("pool timed out"), "{text}");
}

/// A server that answers "no such database" is not retried: the error is
/// at once a lasting one, in the server's words with its SQLSTATE, and
/// without the line of the server's source that sqlx appends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_fails_at_once_naming_it() {
    let schema = TestSchema::create().await.unwrap();
    let (server, _) = schema.url().rsplit_once('/').unwrap();
    let url = format!("{server}/factum_no_such_database");
    let err = PostgresStore::connect(&url)
        .await
        .expect_err("the database does not exist");
    assert!(!err.is_transient(), "retrying cannot help: {err:?}");
    let text = err.to_string();
    assert!(
        text.ends_with(
            ", database factum_no_such_database: \
             database \"factum_no_such_database\" does not exist (SQLSTATE 3D000)"
        ),
        "{text}"
    );
}
