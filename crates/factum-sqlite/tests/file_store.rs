//! Opening files and URLs, what the schema stores, and typed errors.

use factum_core::{
    Error, EventAppender, EventData, EventReader, ExpectedVersion, Metadata, PayloadFormat,
    ReadOptions, StreamId,
};
use factum_sqlite::SqliteStore;
use sqlx::Row;

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

fn json(kind: &str, body: &str) -> EventData {
    EventData::json(kind, body.as_bytes().to_vec())
}

#[tokio::test]
async fn connect_url_creates_the_file_and_reopening_keeps_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("created.db");
    assert!(!path.exists());
    let url = format!("sqlite://{}", path.display());
    let s = stream("reopen-1");
    {
        let store = SqliteStore::connect(&url).await.unwrap();
        assert!(path.exists(), "connect must create the file");
        store
            .append(&s, ExpectedVersion::NoStream, vec![json("A", "{}")])
            .await
            .unwrap();
        store.close().await;
    }
    // Opening again re-runs the migrator, which must find nothing to do.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.stream_version(&s).await.unwrap(), Some(1));
    let result = store
        .append(&s, ExpectedVersion::Exact(1), vec![json("B", "{}")])
        .await
        .unwrap();
    assert_eq!(result.current_version, Some(2));
    let applied: i64 = sqlx::query("SELECT COUNT(*) FROM _factum_migrations")
        .fetch_one(&mut *store.read_connection().await.unwrap())
        .await
        .unwrap()
        .get(0);
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|f| f.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    assert_eq!(
        applied,
        i64::try_from(files).unwrap(),
        "each migration once"
    );
    store.close().await;
}

#[tokio::test]
async fn file_stores_use_wal_foreign_keys_and_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("wal.db")).await.unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut *store.read_connection().await.unwrap())
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let keys: i64 = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(&mut *store.read_connection().await.unwrap())
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 1);
    // FULL (2): a returned append survives a power loss, as documented.
    let synchronous: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(&mut *store.read_connection().await.unwrap())
        .await
        .unwrap()
        .get(0);
    assert_eq!(synchronous, 2);
    store.close().await;
}

#[tokio::test]
async fn memory_urls_open_a_private_in_memory_database() {
    let a = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let b = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let s = stream("mem-1");
    a.append(&s, ExpectedVersion::NoStream, vec![json("A", "{}")])
        .await
        .unwrap();
    assert_eq!(a.stream_version(&s).await.unwrap(), Some(1));
    assert_eq!(b.stream_version(&s).await.unwrap(), None);
}

#[tokio::test]
async fn payloads_metadata_and_types_are_queryable_in_sql() {
    let store = SqliteStore::in_memory().await.unwrap();
    let s = stream("query-1");
    let meta = Metadata::default().with_correlation_id("Flow-9");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![
                json("Deposited", r#"{"amount":5}"#).with_metadata(meta),
                json("Withdrawn", r#"{"amount":2}"#),
                EventData::new(
                    "Packed",
                    PayloadFormat::MessagePack,
                    vec![0x81, 0xa1, b'n', 7],
                ),
                json("Deposited", r#"{"amount":7}"#),
            ],
        )
        .await
        .unwrap();
    let amounts: Vec<i64> = sqlx::query(
        "SELECT json_extract(payload, '$.amount') FROM factum_events \
         WHERE event_type = 'Deposited' ORDER BY position",
    )
    .fetch_all(&mut *store.read_connection().await.unwrap())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(amounts, [5, 7]);
    let storage: Vec<(String, String)> =
        sqlx::query("SELECT format, typeof(payload) FROM factum_events ORDER BY position")
            .fetch_all(&mut *store.read_connection().await.unwrap())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    assert_eq!(storage[0], ("json".into(), "text".into()));
    assert_eq!(storage[2], ("msgpack".into(), "blob".into()));
    let correlated: String = sqlx::query(
        "SELECT event_type FROM factum_events \
         WHERE json_extract(metadata, '$.correlation_id') = 'Flow-9'",
    )
    .fetch_one(&mut *store.read_connection().await.unwrap())
    .await
    .unwrap()
    .get(0);
    assert_eq!(correlated, "Deposited");
    let plan: Vec<String> = sqlx::query(
        "EXPLAIN QUERY PLAN SELECT position FROM factum_events WHERE event_type = 'Deposited'",
    )
    .fetch_all(&mut *store.read_connection().await.unwrap())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(3))
    .collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("factum_events_event_type")),
        "event types must be indexed: {plan:?}"
    );
}

#[tokio::test]
async fn stored_events_cannot_be_updated_or_deleted() {
    let store = SqliteStore::in_memory().await.unwrap();
    let s = stream("immutable-1");
    store
        .append(&s, ExpectedVersion::NoStream, vec![json("A", "{}")])
        .await
        .unwrap();
    for statement in [
        "UPDATE factum_events SET event_type = 'B'",
        "DELETE FROM factum_events",
    ] {
        let err = sqlx::query(statement)
            .execute(&mut *store.read_connection().await.unwrap())
            .await
            .expect_err(statement);
        assert!(err.to_string().contains("immutable"), "{statement}: {err}");
    }
    let read = store.read_stream(&s, ReadOptions::all()).await.unwrap();
    assert_eq!(read[0].event_type, "A");
}

#[tokio::test]
async fn failures_are_backend_errors_naming_the_operation_and_stream() {
    let store = SqliteStore::in_memory().await.unwrap();
    store.close().await;
    let s = stream("closed-1");
    let err = store
        .append(&s, ExpectedVersion::Any, vec![json("A", "{}")])
        .await
        .expect_err("a closed store cannot append");
    match &err {
        Error::Backend {
            backend, operation, ..
        } => {
            assert_eq!(*backend, "sqlite");
            assert_eq!(operation, "appending to stream closed-1");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    let err = store
        .read_stream(&s, ReadOptions::all())
        .await
        .expect_err("a closed store cannot read");
    assert!(
        matches!(&err, Error::Backend { operation, .. } if operation == "reading stream closed-1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn opening_a_file_in_a_missing_directory_is_a_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open(dir.path().join("missing").join("x.db"))
        .await
        .expect_err("the directory does not exist");
    assert!(
        matches!(&err, Error::Backend { backend: "sqlite", operation, .. } if operation.starts_with("opening")),
        "{err:?}"
    );
}

#[test]
fn opening_futures_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    assert_send(&SqliteStore::open(dir.path().join("a.db")));
    assert_send(&SqliteStore::connect("sqlite::memory:"));
    assert_send(&SqliteStore::in_memory());
}

/// A UNIQUE violation cannot happen under factum's write lock; a trigger
/// that forges one on every insert shows that the append is retried a
/// bounded number of times, then fails as a typed backend error naming the
/// stream, and writes nothing.
#[tokio::test]
async fn a_forged_unique_violation_ends_in_a_typed_error_and_writes_nothing() {
    let store = SqliteStore::in_memory().await.unwrap();
    sqlx::query(
        "CREATE TRIGGER forge_conflict BEFORE INSERT ON factum_events \
         WHEN NEW.stream_id = 'trapped' AND NEW.position < 1000000 \
         BEGIN \
           INSERT INTO factum_events (position, stream_id, stream_version, event_id, \
             event_type, schema_version, format, payload, metadata, idempotency_key, recorded_at) \
           VALUES (NEW.position + 1000000, NEW.stream_id, NEW.stream_version, NEW.event_id, \
             'Forged', 1, 'json', '{}', '{}', NULL, NEW.recorded_at); \
         END",
    )
    .execute(&mut *store.read_connection().await.unwrap())
    .await
    .unwrap();
    let s = stream("trapped");
    let err = store
        .append(&s, ExpectedVersion::NoStream, vec![json("A", "{}")])
        .await
        .expect_err("the forged row collides");
    match &err {
        Error::Backend {
            backend,
            operation,
            source,
        } => {
            assert_eq!(*backend, "sqlite");
            assert_eq!(operation, "appending to stream trapped");
            assert!(source.to_string().contains("UNIQUE"), "{source}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    assert_eq!(store.stream_version(&s).await.unwrap(), None);
    assert_eq!(store.head_position().await.unwrap(), None);
    let other = stream("untrapped");
    store
        .append(&other, ExpectedVersion::NoStream, vec![json("A", "{}")])
        .await
        .expect("the store still appends");
}

#[tokio::test]
async fn in_memory_databases_opened_as_files_are_refused_with_advice() {
    for attempt in [
        SqliteStore::open(":memory:").await,
        SqliteStore::connect_with("sqlite::memory:".parse().unwrap()).await,
    ] {
        let err = attempt.expect_err("an in-memory database has no WAL");
        assert!(
            matches!(
                &err,
                Error::Backend {
                    backend: "sqlite",
                    ..
                }
            ) && err.to_string().contains("in_memory()"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_file_store_opens_as_many_readers_as_asked() {
    use futures::FutureExt;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("readers.db").display());
    let store = SqliteStore::connect_with_readers(&url, 2).await.unwrap();
    let _first = store.read_connection().await.unwrap();
    let _second = store.read_connection().await.unwrap();
    assert!(
        store.read_connection().now_or_never().is_none(),
        "a third reader waits for one of the two"
    );
    let default = SqliteStore::connect(&url).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(default.read_connection().await.unwrap());
    }
    assert!(default.read_connection().now_or_never().is_none());
}
