//! Read models in the store's database, the same on SQLite and PostgreSQL:
//! one projection type, written once over sqlx's generic connection, runs
//! under `SqliteProjectionRunner` and `PostgresProjectionRunner` and builds
//! the same tables; a poison event is parked in the page's transaction
//! (the events before it committed, the ones after it handled), listed and
//! replayed after a fix; with the stop policy the checkpoint covers the
//! events before the failing one; a rebuild without `reset` is refused.

//!
//! `harness.rs` holds the projection and the two backends' runners.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod harness;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use factum::postgres::PostgresProjectionRunner;
use factum::sqlite::SqliteProjectionRunner;
use factum::{
    EventAppender, EventData, ExpectedVersion, FailurePolicy, GlobalPosition, ProjectionError,
    StreamId,
};
use harness::{
    OnPostgres, OnSqlite, Runner, Totals, deposit, fold, postgres, postgres_runner, sqlite,
    sqlite_runner,
};

const AMOUNTS: [i64; 10] = [1, 2, 3, 4, 5, 666, 7, 8, 9, 10];
const POISON_INDEX: usize = 5;

async fn parks_and_replays(
    runner: &mut dyn Runner,
    positions: &[GlobalPosition],
    fixed: &AtomicBool,
) {
    let handled = runner.catch_up().await.unwrap();
    assert_eq!(
        handled,
        9,
        "every event but one: {:?}",
        runner.parked().await
    );
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS, positions, &[POISON_INDEX])
    );
    assert_eq!(runner.checkpoint().await, positions.last().copied());
    let parked = runner.parked().await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(
        (
            parked[0].position,
            parked[0].stream_id.as_str(),
            parked[0].attempts
        ),
        (positions[POISON_INDEX], "account-2", 2)
    );
    assert!(
        parked[0].error.contains("cannot book an amount of 666"),
        "{}",
        parked[0].error
    );

    let again = runner.replay_parked().await;
    assert_eq!((again.replayed, again.still_parked.len()), (0, 1));
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS, positions, &[POISON_INDEX]),
        "a failed replay writes nothing"
    );

    fixed.store(true, Ordering::SeqCst);
    let replay = runner.replay_parked().await;
    assert_eq!((replay.replayed, replay.still_parked.len()), (1, 0));
    assert_eq!(runner.parked().await, vec![]);
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS, positions, &[]),
        "each event exactly once"
    );
    assert_eq!(runner.checkpoint().await, positions.last().copied());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_parked_in_the_page_transaction_and_replayed() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let sqlite_positions = deposit(&sqlite_store, &AMOUNTS).await;
    let pg_positions = deposit(&pg_store, &AMOUNTS).await;
    let poisoned = || Totals {
        poison: Some(AMOUNTS[POISON_INDEX]),
        ..Totals::new("totals")
    };

    let totals = poisoned();
    let fixed = totals.fixed.clone();
    let mut runner = sqlite_runner(&sqlite_store, totals, FailurePolicy::Park);
    parks_and_replays(&mut runner, &sqlite_positions, &fixed).await;

    let totals = poisoned();
    let fixed = totals.fixed.clone();
    let mut runner = postgres_runner(&pg_store, totals, FailurePolicy::Park);
    parks_and_replays(&mut runner, &pg_positions, &fixed).await;
}

async fn stops_after_the_events_before(runner: &mut dyn Runner, positions: &[GlobalPosition]) {
    match runner.catch_up().await {
        Err(ProjectionError::Handler {
            position, attempts, ..
        }) => {
            assert_eq!((position, attempts), (positions[POISON_INDEX], 2));
        }
        other => panic!("expected the handler's error, got {other:?}"),
    }
    assert_eq!(
        runner.checkpoint().await,
        Some(positions[POISON_INDEX - 1]),
        "the checkpoint covers the events before the failing one, in its page too"
    );
    assert_eq!(
        runner.model().await,
        fold(&AMOUNTS[..POISON_INDEX], &positions[..POISON_INDEX], &[]),
        "the events before it are in the read model, once"
    );
    assert_eq!(
        runner.parked().await,
        vec![],
        "the stop policy parks nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_policy_keeps_the_events_before_the_failing_one() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let sqlite_positions = deposit(&sqlite_store, &AMOUNTS).await;
    let pg_positions = deposit(&pg_store, &AMOUNTS).await;
    let poisoned = || Totals {
        poison: Some(AMOUNTS[POISON_INDEX]),
        ..Totals::new("totals")
    };
    let mut runner = sqlite_runner(&sqlite_store, poisoned(), FailurePolicy::Stop);
    stops_after_the_events_before(&mut runner, &sqlite_positions).await;
    let mut runner = postgres_runner(&pg_store, poisoned(), FailurePolicy::Stop);
    stops_after_the_events_before(&mut runner, &pg_positions).await;
}

async fn rebuilds(
    runner: &mut dyn Runner,
    refusing: &mut dyn Runner,
    positions: &[GlobalPosition],
) {
    assert_eq!(runner.catch_up().await.unwrap(), 10);
    let built = runner.model().await;
    assert_eq!(built, fold(&AMOUNTS, positions, &[]));
    let refused = refusing.rebuild().await.unwrap_err();
    assert!(refused.is_reset_not_written(), "{refused:?}");
    assert_eq!(
        runner.model().await,
        built,
        "a refused rebuild changes nothing"
    );
    assert_eq!(runner.checkpoint().await, positions.last().copied());
    assert_eq!(runner.rebuild().await.unwrap(), 10);
    assert_eq!(
        runner.model().await,
        built,
        "a rebuild counts each event once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_projection_builds_the_same_read_model_on_both_backends() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let sqlite_positions = deposit(&sqlite_store, &AMOUNTS).await;
    let pg_positions = deposit(&pg_store, &AMOUNTS).await;
    let no_reset = || Totals {
        resettable: false,
        ..Totals::new("totals")
    };
    let mut on_sqlite = sqlite_runner(&sqlite_store, Totals::new("totals"), FailurePolicy::Stop);
    let mut refusing = sqlite_runner(&sqlite_store, no_reset(), FailurePolicy::Stop);
    rebuilds(&mut on_sqlite, &mut refusing, &sqlite_positions).await;
    let mut on_postgres = postgres_runner(&pg_store, Totals::new("totals"), FailurePolicy::Stop);
    let mut refusing = postgres_runner(&pg_store, no_reset(), FailurePolicy::Stop);
    rebuilds(&mut on_postgres, &mut refusing, &pg_positions).await;
    assert_eq!(
        on_sqlite.model().await.0,
        on_postgres.model().await.0,
        "one projection, one read model"
    );
}

/// Splits each stored `Doubled` into two `Deposited` of its amount and
/// drops `Ignored`.
fn doubling() -> factum::Upcasters {
    factum::Upcasters::new()
        .register_split("Doubled", 1, |payload| {
            let deposit = factum::Upcasted {
                event_type: "Deposited".into(),
                schema_version: 1,
                payload,
            };
            Ok(vec![deposit.clone(), deposit])
        })
        .register_drop("Ignored", 1)
}

/// Both transactional runners hand the projection today's events: a split
/// event part by part, in the page's transaction, a dropped one not at
/// all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_runners_hand_over_upcasted_events() {
    let (sqlite_store, _dir) = sqlite().await;
    let (pg_store, _schema) = postgres().await;
    let stream = StreamId::new("account-9").unwrap();
    let events = || {
        vec![
            EventData::json("Deposited", br#"{"amount":1}"#.to_vec()),
            EventData::json("Doubled", br#"{"amount":5}"#.to_vec()),
            EventData::json("Ignored", br#"{"amount":1000}"#.to_vec()),
        ]
    };
    sqlite_store
        .append(&stream, ExpectedVersion::NoStream, events())
        .await
        .unwrap();
    pg_store
        .append(&stream, ExpectedVersion::NoStream, events())
        .await
        .unwrap();
    let expected = BTreeMap::from([("account-9".to_owned(), 11)]);

    let runner = SqliteProjectionRunner::new(sqlite_store.clone(), Totals::new("doubling"))
        .with_upcasters(doubling());
    let mut on_sqlite = OnSqlite(runner, sqlite_store.clone());
    assert_eq!(on_sqlite.catch_up().await.unwrap(), 3);
    let (totals, handled) = on_sqlite.model().await;
    assert_eq!(totals, expected);
    assert_eq!(
        handled.values().copied().collect::<Vec<_>>(),
        [1, 2],
        "the split event twice"
    );

    let runner = PostgresProjectionRunner::new(pg_store.clone(), Totals::new("doubling"))
        .with_upcasters(doubling());
    let mut on_postgres = OnPostgres(runner, pg_store.clone());
    assert_eq!(on_postgres.catch_up().await.unwrap(), 3);
    let (totals, handled) = on_postgres.model().await;
    assert_eq!(totals, expected);
    assert_eq!(
        handled.values().copied().collect::<Vec<_>>(),
        [1, 2],
        "the split event twice"
    );
}
