//! `factum::open_with`: what each option does on each backend, and a
//! refused connection that says why.

use std::time::Duration;

use factum::{Error, EventData, ExpectedVersion, OpenOptions, StreamId};
use factum_postgres::testing::TestSchema;
use sqlx::AssertSqlSafe;

fn event() -> EventData {
    EventData::json("Opened", b"{}".to_vec())
}

/// Nothing listens on port 1: the error comes at the (short) timeout, is
/// transient, and its text holds the driver's reason, not "pool timed out".
#[tokio::test]
async fn a_refused_postgres_connection_says_connection_refused() {
    let options = OpenOptions::default().with_connect_timeout(Duration::from_millis(200));
    let err = match factum::open_with("postgres://127.0.0.1:1/x", options).await {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.to_lowercase().contains("connection refused"),
        "the driver's reason: {text}"
    );
    assert!(text.contains("127.0.0.1:1, database x"), "{text}");
}

/// The schema option puts factum's tables in that schema; a name
/// PostgreSQL cannot take is refused before connecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_option_places_the_postgres_tables() {
    let schema = TestSchema::create().await.expect("a test schema");
    let options = OpenOptions::default()
        .with_schema(schema.schema().as_str())
        .with_pool_size(2);
    let store = factum::open_with(schema.url(), options)
        .await
        .expect("opens");
    let stream = StreamId::new("open-1").expect("valid");
    store
        .append(&stream, ExpectedVersion::NoStream, vec![event()])
        .await
        .expect("appends");
    let pool = sqlx::PgPool::connect(schema.url()).await.expect("connects");
    let sql = format!("SELECT count(*) FROM {}.events", schema.schema().quoted());
    let stored: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(&pool)
        .await
        .expect("counts");
    assert_eq!(stored, 1);
    pool.close().await;

    let bad = OpenOptions::default().with_schema("two words");
    match factum::open_with(schema.url(), bad).await {
        Err(Error::UnsupportedUrl { reason, .. }) => {
            assert!(reason.contains("\"two words\""), "{reason}");
        }
        Err(other) => panic!("expected UnsupportedUrl, got {other:?}"),
        Ok(_) => panic!("an invalid schema name was taken"),
    }
}

/// SQLite refuses a schema (it would not keep stores apart) before it
/// creates anything; the memory store ignores it.
#[tokio::test]
async fn sqlite_refuses_a_schema_and_memory_ignores_it() {
    let dir = std::env::temp_dir().join(format!("factum-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("schema.db");
    let url = format!("sqlite://{}", path.display());
    let with_schema = || OpenOptions::default().with_schema("billing");
    let err = match factum::open_with(&url, with_schema()).await {
        Ok(_) => panic!("SQLite took a schema"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::UnsupportedUrl { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot open {url}: SQLite has no schemas")),
        "{text}"
    );
    assert!(!path.exists(), "nothing created");
    std::fs::remove_dir_all(&dir).expect("cleanup");

    let store = factum::open_with("memory:", with_schema())
        .await
        .expect("memory ignores the schema");
    store
        .append(
            &StreamId::new("open-2").expect("valid"),
            ExpectedVersion::NoStream,
            vec![event()],
        )
        .await
        .expect("appends");
}
