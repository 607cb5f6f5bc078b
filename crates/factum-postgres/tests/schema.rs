//! The schema itself, through plain SQL: immutability and indexes.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{EventAppender, EventData, ExpectedVersion, StreamId};
use factum_postgres::testing::{TestSchema, statement_text};
use sqlx::{AssertSqlSafe, Row};

/// UPDATE, DELETE and TRUNCATE of events are refused by the trigger, and the
/// rows stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cannot_be_changed_or_deleted() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let s = StreamId::new("fixed-1").unwrap();
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![EventData::json("A", br#"{"v":1}"#.to_vec())],
        )
        .await
        .unwrap();
    let events = format!("{}.events", schema.schema().quoted());
    for sql in [
        format!("UPDATE {events} SET payload_json = '{{\"v\":2}}'"),
        format!("UPDATE {events} SET stream_version = 7"),
        format!("DELETE FROM {events}"),
        format!("TRUNCATE {events}"),
    ] {
        let err = sqlx::query(AssertSqlSafe(sql.clone()))
            .execute(store.pool())
            .await
            .expect_err(&sql);
        let db = err.as_database_error().expect("a database error");
        assert_eq!(db.code().as_deref(), Some("2F003"), "{sql}: {db}");
        assert!(db.message().contains("immutable"), "{sql}: {db}");
    }
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT count(*), min(payload_json->>'v'), min(stream_version) FROM {events}"
    )))
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>(0), 1);
    assert_eq!(row.get::<String, _>(1), "1");
    assert_eq!(row.get::<i64, _>(2), 1);
}

/// The JSON payload is stored as JSONB and can be queried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_payloads_are_queryable_jsonb() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let s = StreamId::new("jsonb-1").unwrap();
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![
                EventData::json("Deposited", br#"{"amount":5}"#.to_vec()),
                EventData::json("Deposited", br#"{"amount":12}"#.to_vec()),
            ],
        )
        .await
        .unwrap();
    let sql = format!(
        "SELECT stream_version FROM {}.events WHERE (payload_json->>'amount')::int > 10",
        schema.schema().quoted()
    );
    let versions: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(versions, vec![2]);
}

/// The plan of `explain` (EXPLAIN FORMAT JSON output) as text.
async fn plan(pool: &sqlx::PgPool, explain: String, binds: &[Option<&str>]) -> String {
    let mut query = sqlx::query(AssertSqlSafe(explain));
    for bind in binds {
        query = query.bind(*bind);
    }
    let row = query.fetch_one(pool).await.unwrap();
    row.get::<serde_json::Value, _>(0).to_string()
}

fn assert_uses(plan: &str, index: &str, what: &str) {
    assert!(
        plan.contains(&format!("\"Index Name\":\"{index}\"")),
        "{what} does not use {index}: {plan}"
    );
    assert!(
        !plan.contains("\"Seq Scan\""),
        "{what} scans the table: {plan}"
    );
}

/// On 100,000 events, stream reads, feed pages, the head, key look-ups and
/// type filters use their indexes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_use_indexes_on_a_large_table() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let q = schema.schema().quoted();
    let fill = format!(
        "INSERT INTO {q}.events (stream_id, stream_version, event_id, event_type, schema_version, \
                                 payload_json, metadata, idempotency_key) \
         SELECT 'stream-' || (g % 1000), g / 1000 + 1, gen_random_uuid(), 'Type' || (g % 50), 1, \
                jsonb_build_object('n', g), '{{}}', CASE WHEN g % 3 = 0 THEN 'key-' || g END \
         FROM generate_series(0, 99999) AS g"
    );
    sqlx::query(AssertSqlSafe(fill))
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query(AssertSqlSafe(format!("ANALYZE {q}.events")))
        .execute(store.pool())
        .await
        .unwrap();

    // Parameters are passed as text and cast, so that one helper binds all.
    let explain = |name: &str, casts: &[(&str, &str)]| {
        let mut sql = statement_text(&store, name).expect("a known statement");
        for (param, cast) in casts.iter().rev() {
            sql = sql.replace(param, &format!("{param}::text::{cast}"));
        }
        format!("EXPLAIN (FORMAT JSON) {sql}")
    };
    let stream_casts = [
        ("$1", "text"),
        ("$2", "bigint"),
        ("$3", "bigint"),
        ("$4", "bigint"),
    ];
    let stream_binds = [
        Some("stream-7"),
        Some("1"),
        Some("9223372036854775807"),
        None,
    ];
    for name in ["read_stream_forward", "read_stream_backward"] {
        let p = plan(store.pool(), explain(name, &stream_casts), &stream_binds).await;
        assert_uses(&p, "events_pkey", name);
    }
    let p = plan(
        store.pool(),
        explain("stream_version", &[("$1", "text")]),
        &[Some("stream-7")],
    )
    .await;
    assert_uses(&p, "events_pkey", "stream_version");
    let feed_casts = [("$1", "bigint"), ("$2", "bigint"), ("$3", "bigint")];
    let p = plan(
        store.pool(),
        explain("read_all", &feed_casts),
        &[Some("0"), Some("50000"), Some("100")],
    )
    .await;
    assert_uses(&p, "events_position_idx", "read_all");
    let p = plan(store.pool(), explain("head_position", &[]), &[]).await;
    assert_uses(&p, "events_position_idx", "head_position");
    let p = plan(
        store.pool(),
        format!("EXPLAIN (FORMAT JSON) SELECT stream_id, stream_version FROM {q}.events WHERE idempotency_key = $1"),
        &[Some("key-300")],
    )
    .await;
    assert_uses(&p, "events_idempotency_key_idx", "key look-up");
    let p = plan(
        store.pool(),
        format!(
            "EXPLAIN (FORMAT JSON) SELECT * FROM {q}.events WHERE event_type = $1 \
             ORDER BY transaction_id, seq LIMIT 100"
        ),
        &[Some("Type7")],
    )
    .await;
    assert_uses(&p, "events_event_type_idx", "type filter");
}

/// Identifier columns (stream ids, event types, keys, projection names)
/// compare byte by byte, whatever the database's collation, and an
/// identifier that differs from another only in case or accent is its own
/// stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_compare_bytewise() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, collation_name::text \
         FROM information_schema.columns \
         WHERE table_schema = $1 AND data_type = 'text' \
           AND (table_name, column_name) IN (('events', 'stream_id'), ('events', 'event_type'), \
               ('events', 'idempotency_key'), ('snapshots', 'stream_id'), \
               ('checkpoints', 'name'), ('projection_leases', 'projection'), \
               ('projection_leases', 'holder'))",
    )
    .bind(schema.schema().as_str())
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 7, "every identifier column is there");
    for row in rows {
        let (table, column) = (row.get::<String, _>(0), row.get::<String, _>(1));
        assert_eq!(
            row.get::<Option<String>, _>(2).as_deref(),
            Some("C"),
            "{table}.{column}"
        );
    }
    for name in ["Straße-1", "STRASSE-1", "strasse-1"] {
        let s = StreamId::new(name).unwrap();
        store
            .append(
                &s,
                ExpectedVersion::NoStream,
                vec![EventData::json("Named", br#"{}"#.to_vec())],
            )
            .await
            .unwrap_or_else(|e| panic!("{name} is a stream of its own: {e}"));
    }
}
