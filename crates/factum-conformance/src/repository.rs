//! The aggregate repository on top of the backend: concurrent commands,
//! snapshots, upcasting and time travel.

use factum_core::Direction;
use std::sync::Arc;

use super::account::{Account, AccountCommand, AccountError, AccountEvent};
use super::support::{append_ok, stream};
use factum_core::aggregate::{ExecuteError, Repository, SnapshotPolicy};
use factum_core::{
    Codec, EventData, EventStore, ExpectedVersion, Json, Metadata, PayloadFormat, ReadOptions,
    Snapshot, Upcasted, Upcasters,
};

const TASKS: u64 = 8;
const DEPOSITS_PER_TASK: u64 = 10;

/// 8 tasks, each with a clone of one repository, execute deposits on one
/// account at once: every command lands (after retries) and the balance is
/// the sum of all of them.
pub async fn repository_concurrent_commands_all_land(store: &Arc<dyn EventStore>) {
    let accounts = Repository::<Account, _>::new(store.clone());
    accounts
        .execute("race", AccountCommand::Open)
        .await
        .expect("open");
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let accounts = accounts.clone();
            tokio::spawn(async move {
                let mut retried = 0;
                for i in 0..DEPOSITS_PER_TASK {
                    let done = accounts
                        .execute("race", AccountCommand::Deposit(task * 100 + i + 1))
                        .await
                        .unwrap_or_else(|e| panic!("deposit failed: {e}"));
                    retried += done.attempts - 1;
                }
                retried
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task finished");
    }
    let expected: u64 = (0..TASKS)
        .flat_map(|t| (0..DEPOSITS_PER_TASK).map(move |i| t * 100 + i + 1))
        .sum();
    let loaded = accounts.load("race").await.expect("load");
    assert_eq!(loaded.state.balance, expected);
    assert_eq!(loaded.version, Some(1 + TASKS * DEPOSITS_PER_TASK));
}

/// Domain errors come back typed, write nothing; a command that causes no
/// event writes nothing; metadata lands on the events.
pub async fn repository_errors_and_empty_commands_write_nothing(store: &dyn EventStore) {
    let accounts = Repository::<Account, _>::new(store);
    match accounts.execute("a1", AccountCommand::Deposit(5)).await {
        Err(ExecuteError::Domain {
            error: AccountError::NotOpen,
            attempts: 1,
        }) => {}
        other => panic!("expected NotOpen, got {other:?}"),
    }
    let s = accounts.stream_id("a1").expect("stream id");
    assert_eq!(s.as_str(), "account-a1");
    assert_eq!(store.stream_version(&s).await.expect("version"), None);
    let meta = Metadata::default()
        .with_correlation_id("corr-1")
        .with_actor("teller");
    let opened = accounts
        .execute_with("a1", AccountCommand::Open, meta.clone())
        .await
        .expect("open");
    assert_eq!((opened.version, opened.events.len()), (Some(1), 1));
    let again = accounts
        .execute("a1", AccountCommand::Open)
        .await
        .expect("open again");
    assert!(again.events.is_empty() && again.append.is_none());
    assert_eq!(store.stream_version(&s).await.expect("version"), Some(1));
    match accounts.execute("a1", AccountCommand::Withdraw(3)).await {
        Err(ExecuteError::Domain {
            error:
                AccountError::InsufficientFunds {
                    balance: 0,
                    requested: 3,
                },
            attempts: 1,
        }) => {}
        other => panic!("expected InsufficientFunds, got {other:?}"),
    }
    let read = store
        .read_stream(&s, ReadOptions::all())
        .await
        .expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].metadata, meta);
}

/// With snapshots every 10 events, loading starts from the snapshot: a
/// doctored snapshot shows that the events before it are not folded again,
/// and a snapshot of an old state schema is ignored.
pub async fn repository_loads_from_snapshots(store: &dyn EventStore) {
    let accounts = Repository::<Account, _>::new(store).with_snapshots(SnapshotPolicy::Every(10));
    accounts
        .execute("snap", AccountCommand::Open)
        .await
        .expect("open");
    for _ in 0..24 {
        accounts
            .execute("snap", AccountCommand::Deposit(1))
            .await
            .expect("deposit");
    }
    let s = accounts.stream_id("snap").expect("stream id");
    let snapshot = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot was taken");
    assert_eq!(
        snapshot.stream_version, 20,
        "the newest multiple of 10 reached"
    );
    let loaded = accounts.load("snap").await.expect("load");
    assert_eq!((loaded.state.balance, loaded.version), (24, Some(25)));

    // Replace the snapshot by one whose state no fold could produce.
    let doctored = Account {
        open: true,
        balance: 1_000_000,
        deposits: 0,
    };
    let doctored = Snapshot {
        state: serde_json::to_vec(&doctored).expect("json"),
        stream_version: 21,
        ..snapshot.clone()
    };
    store.save_snapshot(doctored.clone()).await.expect("save");
    let loaded = accounts.load("snap").await.expect("load");
    assert_eq!(
        loaded.state.balance, 1_000_004,
        "events after the snapshot only (22..=25)"
    );
    assert_eq!(loaded.state.deposits, 4);

    // The same state under another schema version is ignored.
    store
        .save_snapshot(Snapshot {
            schema_version: 99,
            stream_version: 22,
            ..doctored
        })
        .await
        .expect("save");
    let loaded = accounts.load("snap").await.expect("load");
    assert_eq!(
        (loaded.state.balance, loaded.state.deposits),
        (24, 24),
        "rebuilt from events"
    );

    // A snapshot on demand covers the current version with the current schema.
    assert_eq!(
        accounts.take_snapshot("snap").await.expect("snapshot"),
        Some(25)
    );
    let taken = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!((taken.stream_version, taken.schema_version), (25, 1));
    assert_eq!(
        accounts
            .take_snapshot("never-written")
            .await
            .expect("nothing to snapshot"),
        None
    );

    // Without a snapshot policy, snapshots are not consulted.
    let plain = Repository::<Account, _>::new(store);
    assert_eq!(plain.load("snap").await.expect("load").state.balance, 24);

    // More events after the snapshot than a backend reads with it: the
    // rest are read after, none twice.
    for first in [25, 625] {
        let deposits = (0..600)
            .map(|_| {
                Json.encode(&AccountEvent::Deposited { amount: 1 })
                    .expect("encode")
            })
            .collect();
        append_ok(store, &s, ExpectedVersion::Exact(first), deposits).await;
    }
    let loaded = accounts.load("snap").await.expect("load");
    assert_eq!((loaded.state.balance, loaded.version), (1_224, Some(1_225)));
    assert_eq!(loaded.state.deposits, 1_224);
}

/// Version-1 events (`Deposited { cents }`, and the old name `Credited`) are
/// upcast to version 2 before decoding.
pub async fn repository_upcasts_old_events(store: &dyn EventStore) {
    let s = stream("account-legacy");
    // Version 1, in serde's enum form as earlier versions stored it.
    let v1 = |kind: &str, cents: u64| {
        EventData::json(
            kind,
            format!(r#"{{"{kind}":{{"cents":{cents}}}}}"#).into_bytes(),
        )
    };
    let opened = Json.encode(&AccountEvent::Opened).expect("encode");
    append_ok(
        store,
        &s,
        ExpectedVersion::NoStream,
        vec![opened, v1("Deposited", 500), v1("Credited", 300)],
    )
    .await;
    let accounts = Repository::<Account, _>::new(store);
    let err = accounts
        .load("legacy")
        .await
        .expect_err("v1 payloads do not decode as v2");
    assert!(err.to_string().contains("Deposited"), "{err}");

    // Upcasters see the variant's content, whatever form it was stored in,
    // and hand content back.
    let to_v2 = |payload: serde_json::Value| -> Result<Upcasted, factum_core::BoxError> {
        let cents = payload["cents"].as_u64().ok_or("no cents")?;
        Ok(Upcasted {
            event_type: "Deposited".into(),
            schema_version: 2,
            payload: serde_json::json!({ "amount": cents / 100 }),
        })
    };
    let rename = |payload| {
        Ok(Upcasted {
            event_type: "Deposited".into(),
            schema_version: 1,
            payload,
        })
    };
    let upcasters = Upcasters::new()
        .register("Deposited", 1, to_v2)
        .register("Credited", 1, rename);
    let accounts = accounts.with_upcasters(upcasters);
    let loaded = accounts.load("legacy").await.expect("load with upcasters");
    assert_eq!((loaded.state.balance, loaded.state.deposits), (8, 2));
    // New events written by the repository carry schema version 2 and pass untouched.
    accounts
        .execute("legacy", AccountCommand::Deposit(1))
        .await
        .expect("deposit");
    let last = store
        .read_stream(
            &s,
            ReadOptions::all()
                .with_direction(Direction::Backward)
                .with_limit(1),
        )
        .await
        .expect("read");
    assert_eq!(
        (last[0].schema_version, last[0].format),
        (2, PayloadFormat::Json)
    );
    assert_eq!(
        accounts.load("legacy").await.expect("load").state.balance,
        9
    );
}

/// The state as of a stream version, and as of a time.
pub async fn repository_time_travel(store: &dyn EventStore) {
    let accounts = Repository::<Account, _>::new(store).with_snapshots(SnapshotPolicy::Every(3));
    accounts
        .execute("tt", AccountCommand::Open)
        .await
        .expect("open");
    for amount in 1..=5 {
        accounts
            .execute("tt", AccountCommand::Deposit(amount))
            .await
            .expect("deposit");
    }
    let at_3 = accounts.load_at_version("tt", 3).await.expect("load");
    assert_eq!((at_3.state.balance, at_3.version), (3, Some(3)));
    let at_5 = accounts.load_at_version("tt", 5).await.expect("load");
    assert_eq!((at_5.state.balance, at_5.version), (10, Some(5)));
    let s = accounts.stream_id("tt").expect("stream id");
    let events = store
        .read_stream(&s, ReadOptions::all())
        .await
        .expect("read");
    let at_time = accounts
        .load_at_time("tt", events[3].recorded_at)
        .await
        .expect("load");
    assert!(
        at_time.version >= Some(4),
        "includes every event recorded by then"
    );
    assert!(
        accounts
            .load_at_time("tt", events[0].recorded_at - chrono::Duration::days(1))
            .await
            .expect("load")
            .version
            .is_none()
    );
    let now = accounts
        .load_at_time("tt", chrono::Utc::now())
        .await
        .expect("load");
    assert_eq!((now.state.balance, now.version), (15, Some(6)));
}
