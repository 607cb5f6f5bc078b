//! Rows altered behind factum's back: the test drops the immutability
//! trigger, turns CHECK constraints off and rewrites one event's row. Every
//! read path then reports `Error::CorruptEvent` naming the row (see
//! `factum_conformance::hostile`), and a payload that does not decode as its
//! type stops the projection runner at that position. Nothing panics.

use factum_conformance::hostile::{
    CorruptRow, reads_report_corrupt_event, runner_names_undecodable_payload, store_deposits,
};
use factum_core::GlobalPosition;
use factum_sqlite::SqliteStore;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// A store holding three account deposits in stream `hostile-1`, whose
/// second event's row then gets `set` (an SQL assignment list). Returns the
/// store, its directory, and the second event's position.
async fn corrupted(set: &str) -> (SqliteStore, tempfile::TempDir, GlobalPosition) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("hostile.db");
    let store = SqliteStore::open(&path).await.expect("the store opens");
    let position = store_deposits(&store).await;
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .expect("a connection of the test's own");
    for statement in [
        "DROP TRIGGER factum_events_no_update".to_owned(),
        "PRAGMA ignore_check_constraints = ON".to_owned(),
        format!(
            "UPDATE factum_events SET {set} WHERE stream_id = 'hostile-1' AND stream_version = 2"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .expect("the row is altered");
    }
    conn.close().await.expect("the connection closes");
    (store, dir, position)
}

/// Corrupts the second event with `set`, and checks every read path.
async fn check(set: &str, in_payload_columns: bool, version_intact: bool) {
    let (store, _dir, position) = corrupted(set).await;
    let row = CorruptRow::second(position, in_payload_columns, version_intact);
    reads_report_corrupt_event(&store, &row).await;
    store.close().await;
}

#[tokio::test]
async fn metadata_that_is_not_json() {
    check("metadata = 'not json'", false, true).await;
}

#[tokio::test]
async fn metadata_that_is_not_an_object() {
    check("metadata = '[1, 2]'", false, true).await;
}

#[tokio::test]
async fn metadata_fields_of_the_wrong_type() {
    check(r#"metadata = '{"correlation_id": 5}'"#, false, true).await;
}

#[tokio::test]
async fn an_unknown_payload_format() {
    check("format = 'yaml'", true, true).await;
}

#[tokio::test]
async fn a_payload_stored_as_a_number() {
    check("payload = 42", true, true).await;
}

#[tokio::test]
async fn a_negative_version() {
    check("stream_version = -2", false, false).await;
}

#[tokio::test]
async fn a_version_of_zero() {
    check("stream_version = 0", false, false).await;
}

#[tokio::test]
async fn an_event_id_that_is_not_a_uuid() {
    check("event_id = x'00'", false, true).await;
}

#[tokio::test]
async fn a_recorded_at_that_is_not_a_time() {
    check("recorded_at = 'yesterday'", false, true).await;
}

#[tokio::test]
async fn a_json_payload_that_does_not_fit_its_type() {
    let (store, _dir, position) = corrupted(r#"payload = '{"Deposited":{"amount":"five"}}'"#).await;
    runner_names_undecodable_payload(&store, position).await;
    store.close().await;
}

#[tokio::test]
async fn a_message_pack_payload_that_does_not_decode() {
    let (store, _dir, position) = corrupted("format = 'msgpack', payload = x'c1c1'").await;
    runner_names_undecodable_payload(&store, position).await;
    store.close().await;
}
