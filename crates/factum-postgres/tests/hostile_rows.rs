//! Rows altered behind factum's back by a superuser: the test sets
//! `session_replication_role = replica` (which skips the immutability
//! trigger), drops the CHECK constraints a corruption needs gone, and
//! rewrites one event's row. Every read path then reports
//! `Error::CorruptEvent` naming the row (see `factum_conformance::hostile`),
//! and so does the exactly-once runner; a payload that does not decode as
//! its type stops both runners at that position. Nothing panics.

use async_trait::async_trait;
use factum_conformance::hostile::{
    CorruptRow, assert_names, decode_account_event, reads_report_corrupt_event,
    runner_names_undecodable_payload, store_deposits,
};
use factum_core::{BoxError, GlobalPosition, ProjectionError, RecordedEvent, RetryPolicy};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresProjectionRunner, PostgresStore, TransactionalProjection};
use sqlx::{Connection, PgConnection};

/// A store holding three account deposits in stream `hostile-1`, whose
/// second event's row then gets `set` (an SQL assignment list on `events`)
/// after `prepare` (statements run first, e.g. dropping a constraint).
/// Returns the store, its schema, and the second event's position.
async fn corrupted(prepare: &[&str], set: &str) -> (PostgresStore, TestSchema, GlobalPosition) {
    let (store, schema) = TestSchema::store().await.expect("a test schema");
    let position = store_deposits(&store).await;
    let mut conn = PgConnection::connect(schema.url())
        .await
        .expect("a connection of the test's own");
    let table = format!("{}.events", schema.schema().quoted());
    let mut statements = vec!["SET session_replication_role = replica".to_owned()];
    statements.extend(prepare.iter().map(|p| format!("ALTER TABLE {table} {p}")));
    statements.push(format!(
        "UPDATE {table} SET {set} WHERE stream_id = 'hostile-1' AND stream_version = 2"
    ));
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .expect("the row is altered");
    }
    conn.close().await.expect("the connection closes");
    (store, schema, position)
}

/// Corrupts the second event, checks every read path and the exactly-once
/// runner.
async fn check(prepare: &[&str], set: &str, in_payload_columns: bool, version_intact: bool) {
    let (store, _schema, position) = corrupted(prepare, set).await;
    let row = CorruptRow::second(position, in_payload_columns, version_intact);
    reads_report_corrupt_event(&store, &row).await;
    let mut runner = PostgresProjectionRunner::new(store.clone(), Decoding);
    match runner.catch_up().await {
        Err(ProjectionError::Store { source, .. }) => assert_names(&source, &row, true),
        other => panic!("the runner went past the corrupt row: {other:?}"),
    }
}

const NO_ONE_PAYLOAD_CHECK: &str = "DROP CONSTRAINT events_one_payload";

#[tokio::test]
async fn metadata_that_is_not_an_object() {
    check(&[], "metadata = '[1, 2]'", false, true).await;
}

#[tokio::test]
async fn metadata_fields_of_the_wrong_type() {
    check(&[], r#"metadata = '{"correlation_id": 5}'"#, false, true).await;
}

#[tokio::test]
async fn neither_payload_column_set() {
    check(&[NO_ONE_PAYLOAD_CHECK], "payload_json = NULL", true, true).await;
}

#[tokio::test]
async fn both_payload_columns_set() {
    check(
        &[NO_ONE_PAYLOAD_CHECK],
        r"payload_bytes = '\x00'",
        true,
        true,
    )
    .await;
}

#[tokio::test]
async fn a_negative_version() {
    check(
        &["DROP CONSTRAINT events_stream_version_check"],
        "stream_version = -2",
        false,
        false,
    )
    .await;
}

/// Both runners stop at the event whose payload does not decode.
async fn check_undecodable(set: &str) {
    let (store, _schema, position) = corrupted(&[], set).await;
    runner_names_undecodable_payload(&store, position).await;
    let mut runner =
        PostgresProjectionRunner::new(store.clone(), Decoding).with_retry(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        });
    match runner.catch_up().await {
        Err(ProjectionError::Handler { position: at, .. }) => assert_eq!(at, position),
        other => panic!("the runner went past the undecodable event: {other:?}"),
    }
}

#[tokio::test]
async fn a_json_payload_that_does_not_fit_its_type() {
    check_undecodable(r#"payload_json = '{"Deposited":{"amount":"five"}}'"#).await;
}

#[tokio::test]
async fn a_message_pack_payload_that_does_not_decode() {
    check_undecodable(r"payload_json = NULL, payload_bytes = '\xc1c1'").await;
}

/// An exactly-once projection that decodes every event.
struct Decoding;

#[async_trait]
impl TransactionalProjection<PgConnection> for Decoding {
    fn name(&self) -> &str {
        "hostile-rows"
    }

    async fn handle(
        &mut self,
        _: &mut PgConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        Ok(decode_account_event(event)?)
    }
}
