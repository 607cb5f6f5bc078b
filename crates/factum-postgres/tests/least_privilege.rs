//! factum under a role that may only read and append, granted by the
//! crate's `roles/read_and_append.sql` (through `TestRole`, which runs that
//! file): the schema is migrated by the harness's owner, then every
//! operation that is not a migration works under the role, and the role
//! can neither change nor remove an event nor run DDL, refused by
//! PostgreSQL's permission checks (SQLSTATE 42501), not by the triggers.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::deposit;
use common::restricted::{Restricted, count, event, options, stream};
use factum_core::{CheckpointStore, Error};
use factum_core::{
    Direction, EventAppender, EventOutcome, EventReader, ExpectedVersion, GlobalPosition,
    PayloadFormat, ReadOptions, RecordedEvent, Snapshot, SnapshotStore, StreamAppend, Subscribe,
    SubscriptionOptions,
};
use factum_postgres::PostgresStore;
use futures::{StreamExt, TryStreamExt};
use sqlx::AssertSqlSafe;

/// How long a test waits for something that should happen at once.
const BOUND: Duration = Duration::from_secs(20);

/// `connect` and `migrate` on a current schema only read; on a schema that
/// lacks a migration the role, unable to apply it, gets a backend error
/// naming the schema instead of a half-applied one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_migrate_only_read_a_current_schema() {
    let r = Restricted::new().await;
    let s = r.s();
    let applied = format!("SELECT count(*) FROM {s}._sqlx_migrations");
    let before = count(r.owner.pool(), applied.clone()).await;
    r.app.migrate().await.unwrap();
    PostgresStore::connect_with(r.role.url(), options(&r.schema))
        .await
        .unwrap();
    assert_eq!(count(r.owner.pool(), applied).await, before);

    r.as_owner(format!(
        "DELETE FROM {s}._sqlx_migrations WHERE version = (SELECT max(version) FROM {s}._sqlx_migrations)"
    ))
    .await;
    let err = PostgresStore::connect_with(r.role.url(), options(&r.schema))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend { .. })
            && err.to_string().contains(r.schema.schema().as_str()),
        "{err}"
    );
}

/// Every way of appending and reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_reads_and_subscriptions_work_under_the_role() {
    let r = Restricted::new().await;
    let (a, b) = (stream("acct-a"), stream("acct-b"));
    // One event (append_single.sql), then several (append_one.sql).
    r.app
        .append(&a, ExpectedVersion::NoStream, vec![event(1)])
        .await
        .unwrap();
    r.app
        .append(&a, ExpectedVersion::Exact(1), vec![event(2), event(3)])
        .await
        .unwrap();
    // Two streams, and idempotency keys (append_events).
    let keyed = || {
        vec![
            StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![event(4)]),
            StreamAppend::new(
                b.clone(),
                ExpectedVersion::NoStream,
                vec![event(5).with_idempotency_key("deposit-5")],
            ),
        ]
    };
    let first = r.app.append_many(keyed()).await.unwrap();
    assert_eq!(first[0].current_version, Some(4));
    assert!(!first[1].is_duplicate());
    let again = r.app.append_many(keyed()[1..].to_vec()).await.unwrap();
    assert!(
        matches!(
            &again[0].events[0],
            EventOutcome::Duplicate {
                stream_version: 1,
                ..
            }
        ),
        "{again:?}"
    );

    let forward = r.app.read_stream(&a, ReadOptions::all()).await.unwrap();
    let versions: Vec<u64> = forward.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    let backward = ReadOptions::all()
        .with_direction(Direction::Backward)
        .with_limit(2);
    let newest: Vec<u64> = r
        .app
        .read_stream(&a, backward)
        .await
        .unwrap()
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(newest, [4, 3]);
    let payloads: Vec<_> = r
        .app
        .read_stream_payloads(&b, ReadOptions::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(payloads.len(), 1);
    assert_eq!(r.app.stream_version(&b).await.unwrap(), Some(1));

    let feed = r.app.read_all(GlobalPosition::START, 100).await.unwrap();
    assert_eq!(feed.len(), 5);
    assert_eq!(
        r.app.head_position().await.unwrap(),
        feed.last().map(|e| e.position)
    );
    let subscribed: Vec<RecordedEvent> = tokio::time::timeout(
        BOUND,
        r.app
            .subscribe(SubscriptionOptions::from_start().with_batch_size(2))
            .take(5)
            .try_collect(),
    )
    .await
    .expect("the subscription delivers the history")
    .unwrap();
    assert_eq!(subscribed, feed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_and_checkpoints_work_under_the_role() {
    let r = Restricted::new().await;
    let a = stream("acct-a");
    let snapshot = |version: u64| Snapshot {
        stream_id: a.clone(),
        stream_version: version,
        schema_version: 1,
        format: PayloadFormat::Json,
        state: format!(r#"{{"v":{version}}}"#).into_bytes(),
        taken_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap(),
    };
    r.app.save_snapshot(snapshot(1)).await.unwrap();
    // Replacing it is an upsert's UPDATE.
    r.app.save_snapshot(snapshot(2)).await.unwrap();
    assert_eq!(r.app.load_snapshot(&a).await.unwrap(), Some(snapshot(2)));

    let (one, two) = (
        GlobalPosition::from_parts(10, 1),
        GlobalPosition::from_parts(12, 3),
    );
    r.app.save_checkpoint("p", one).await.unwrap();
    r.app.save_checkpoint("p", two).await.unwrap();
    assert_eq!(r.app.load_checkpoint("p").await.unwrap(), Some(two));
    r.app.delete_checkpoint("p").await.unwrap();
    assert_eq!(r.app.load_checkpoint("p").await.unwrap(), None);
}

/// `append_in` inside a transaction of the role's own, beside the
/// application's own
/// writes to a table granted to the role; while it is open, the role can
/// ask what holds the feed back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_in_commits_with_the_roles_own_transaction() {
    let r = Restricted::new().await;
    let (s, role) = (r.s(), r.role.name());
    r.as_owner(format!(
        "CREATE TABLE {s}.orders (id int PRIMARY KEY); GRANT SELECT, INSERT ON {s}.orders TO \"{role}\""
    ))
    .await;
    let order = stream("order-1");
    let mut tx = r.app.pool().begin().await.unwrap();
    sqlx::query(AssertSqlSafe(format!("INSERT INTO {s}.orders VALUES (1)")))
        .execute(&mut *tx)
        .await
        .unwrap();
    let results = r
        .app
        .append_in(
            &mut tx,
            vec![
                StreamAppend::new(order.clone(), ExpectedVersion::NoStream, vec![event(1)]),
                StreamAppend::new(
                    stream("order-log"),
                    ExpectedVersion::Any,
                    vec![event(2).with_idempotency_key("order-1-logged")],
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(r.app.stream_version(&order).await.unwrap(), None);
    r.app
        .append(&stream("later"), ExpectedVersion::Any, vec![event(3)])
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    // Other tests' transactions in this database may hold it too.
    let holders = r.app.feed_held_back_by().await.unwrap();
    assert!(holders.iter().any(|h| h.pid == Some(pid)), "{holders:?}");
    tx.commit().await.unwrap();
    let holders = r.app.feed_held_back_by().await.unwrap();
    assert!(holders.iter().all(|h| h.pid != Some(pid)), "{holders:?}");
    assert_eq!(r.app.stream_version(&order).await.unwrap(), Some(1));
    assert_eq!(
        count(r.app.pool(), format!("SELECT count(*) FROM {s}.orders")).await,
        1
    );
}

/// The feed's `LISTEN` connection, opened as the role, is woken by an
/// append's notification (not by a reconnect: its session stays the same).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_listener_wakes_under_the_role() {
    let r = Restricted::new().await;
    let mut signal = r.app.feed_signal().expect("a feed signal");
    // The first wake-up follows the listener's connect.
    tokio::time::timeout(BOUND, signal.changed())
        .await
        .expect("the listener connects");
    let session = format!(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{}' AND usename = '{}' \
         AND query LIKE 'LISTEN%'",
        r.app.feed_listener_name(),
        r.role.name()
    );
    let listener: i32 = sqlx::query_scalar(AssertSqlSafe(session.clone()))
        .fetch_one(r.owner.pool())
        .await
        .unwrap();
    signal.mark_seen();
    r.app
        .append(&stream("acct-a"), ExpectedVersion::Any, vec![event(1)])
        .await
        .unwrap();
    tokio::time::timeout(BOUND, signal.changed())
        .await
        .expect("the append's notification wakes the listener");
    let still: i32 = sqlx::query_scalar(AssertSqlSafe(session))
        .fetch_one(r.owner.pool())
        .await
        .unwrap();
    assert_eq!(still, listener, "the listener reconnected instead");
}

/// History stays as written: the role's UPDATE, DELETE and TRUNCATE on
/// events, and its DDL, fail the permission check (42501) before any
/// trigger could refuse them (2F003).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_cannot_alter_history_or_the_schema() {
    let r = Restricted::new().await;
    let s = r.s();
    deposit(&r.app, "acct-a", 1).await;
    let denied = Some("42501".to_owned());
    for sql in [
        format!("UPDATE {s}.events SET event_type = 'Forged'"),
        format!("DELETE FROM {s}.events"),
        format!("TRUNCATE {s}.events"),
        format!("DROP TRIGGER events_are_immutable ON {s}.events"),
        format!("ALTER TABLE {s}.events DISABLE TRIGGER events_are_not_truncated"),
        format!("ALTER TABLE {s}.events ADD COLUMN forged text"),
        format!("DROP TABLE {s}.events"),
        format!("CREATE TABLE {s}.shadow (x int)"),
        format!("CREATE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
        format!("DROP FUNCTION {s}.append_events"),
        format!("DELETE FROM {s}.snapshots"),
        format!("DELETE FROM {s}.projection_leases"),
        format!("UPDATE {s}._sqlx_migrations SET success = false"),
        format!("DELETE FROM {s}._sqlx_migrations"),
    ] {
        assert_eq!(r.refusal(sql.clone()).await, denied, "{sql}");
    }
    let events = r.owner.read_all(GlobalPosition::START, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "Deposited");
}

/// The role may execute every function of the schema without PUBLIC's
/// default grant, including one the owner creates after the grants (as a
/// later migration would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_of_the_schema_is_granted_now_and_later() {
    let r = Restricted::new().await;
    let s = r.s();
    r.as_owner(format!(
        "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {s} FROM PUBLIC; \
         CREATE FUNCTION {s}.later() RETURNS int LANGUAGE sql AS 'SELECT 7'; \
         REVOKE EXECUTE ON FUNCTION {s}.later() FROM PUBLIC"
    ))
    .await;
    let ungranted = format!(
        "SELECT count(*) FROM pg_proc WHERE pronamespace = '{s}'::regnamespace \
         AND NOT has_function_privilege('{}', oid, 'EXECUTE')",
        r.role.name()
    );
    assert_eq!(count(r.owner.pool(), ungranted).await, 0);
    // A key sends the append through `append_events`.
    r.app
        .append(
            &stream("acct-a"),
            ExpectedVersion::NoStream,
            vec![event(1).with_idempotency_key("k")],
        )
        .await
        .unwrap();
    assert_eq!(
        count(r.app.pool(), format!("SELECT {s}.later()::bigint")).await,
        7
    );
}
