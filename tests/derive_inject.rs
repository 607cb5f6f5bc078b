//! Derived injectable events on every backend (memory, SQLite, PostgreSQL):
//! request/response, duplicates, status checks and concurrent injection. A
//! user crate needs only `factum` for all of it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::on_every_backend;
use factum::{
    CorrelatedSet, CorrelationStatus, DomainEvent, Error, EventReader, EventStore, InjectEvents,
    InjectStatus, InjectableEvent, ReadOptions, StreamId, WaitForFeed,
};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
#[es(prefix = "Transfer")]
struct Transfer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["request_id"], correlation = ["transfer_id"], correlation_set = Transfer)]
struct TransferRequested {
    request_id: u64,
    transfer_id: u64,
    amount: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(event_type = "TransferAnswered")]
#[es(idempotency = ["request_id"], correlation = ["transfer_id"], correlation_set = Transfer)]
#[es(status = exists)]
struct Answered {
    request_id: u64,
    transfer_id: u64,
    accepted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["note_id"], correlation = ["transfer_id"], correlation_set = Transfer, status = any)]
struct TransferNoted {
    note_id: u64,
    transfer_id: u64,
}

fn request(request_id: u64, transfer_id: u64) -> TransferRequested {
    TransferRequested {
        request_id,
        transfer_id,
        amount: 10,
    }
}

fn answer(request_id: u64, transfer_id: u64) -> Answered {
    Answered {
        request_id,
        transfer_id,
        accepted: true,
    }
}

fn group(id: &str) -> StreamId {
    StreamId::new(id).expect("valid stream id")
}

async fn a_request_waits_for_the_response_a_responder_injects(store: Arc<dyn EventStore>) {
    let responder = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .wait_for_feed()
                .await_count(1)
                .await
                .expect("the request arrives");
            store
                .idempotent_inject_event(&answer(2, 5))
                .await
                .expect("answer")
        })
    };
    let waiting = store
        .idempotent_inject_event_and_wait::<Transfer, _>(&request(1, 5))
        .await
        .expect("inject");
    assert!(
        matches!(waiting.status, InjectStatus::Injected { .. }),
        "{:?}",
        waiting.status
    );
    let response = waiting
        .response(Duration::from_secs(10))
        .await
        .expect("a response");
    assert_eq!(response.event_type, "TransferAnswered");
    assert_eq!(response.stream_id.as_str(), "Transfer-5");
    assert_eq!(
        response.idempotency_key.as_deref(),
        Some("TransferAnswered-2")
    );
    assert_eq!(
        response.metadata.correlation_id.as_deref(),
        Some("Transfer-5")
    );
    assert_eq!(response.decode::<Answered>().expect("decode"), answer(2, 5));
    let answered = responder.await.expect("responder finished");
    assert_eq!(answered.position(), response.position);

    // A retried request is a duplicate and finds the response at once.
    let retry = store
        .idempotent_inject_event_and_wait::<Transfer, _>(&request(1, 5))
        .await
        .expect("retry");
    assert!(matches!(retry.status, InjectStatus::Duplicate { .. }));
    let again = retry
        .response(Duration::from_millis(1))
        .await
        .expect("already answered");
    assert_eq!(again.event_id, response.event_id);
}

async fn injecting_again_is_a_duplicate_and_writes_nothing(store: Arc<dyn EventStore>) {
    let first = store
        .idempotent_inject_event(&request(1, 7))
        .await
        .expect("inject");
    let InjectStatus::Injected { position } = first else {
        panic!("the first injection must write: {first:?}")
    };
    let again = store
        .idempotent_inject_event(&request(1, 7))
        .await
        .expect("inject again");
    assert_eq!(again, InjectStatus::Duplicate { position });
    let stored = store
        .read_stream(&group("Transfer-7"), ReadOptions::all())
        .await
        .expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event_type, "TransferRequested");
    assert_eq!(
        stored[0].idempotency_key.as_deref(),
        Some("TransferRequested-1")
    );
    assert_eq!(
        stored[0].decode::<TransferRequested>().expect("decode"),
        request(1, 7)
    );
}

async fn status_failures_name_the_group_and_write_nothing(store: Arc<dyn EventStore>) {
    // `exists`: an answer to a group nobody opened.
    let err = store
        .idempotent_inject_event(&answer(3, 8))
        .await
        .expect_err("group 8 does not exist");
    match &err {
        Error::CorrelationStatus {
            group: failed,
            expected: CorrelationStatus::Exists,
            events: None,
        } => assert_eq!(failed.as_str(), "Transfer-8"),
        other => panic!("expected an `exists` status failure, got {other:?}"),
    }
    assert!(err.to_string().contains("Transfer-8"), "{err}");
    assert_eq!(
        store
            .stream_version(&group("Transfer-8"))
            .await
            .expect("version"),
        None
    );

    // `new`: a second request into an open group.
    store
        .idempotent_inject_event(&request(1, 9))
        .await
        .expect("open group 9");
    match store.idempotent_inject_event(&request(2, 9)).await {
        Err(Error::CorrelationStatus {
            group: failed,
            expected: CorrelationStatus::New,
            events: Some(1),
        }) => assert_eq!(failed.as_str(), "Transfer-9"),
        other => panic!("expected a `new` status failure, got {other:?}"),
    }
    assert_eq!(
        store
            .stream_version(&group("Transfer-9"))
            .await
            .expect("version"),
        Some(1)
    );
    assert_eq!(
        store.wait_for_feed().await_count(1).await.expect("count"),
        1
    );
}

async fn status_any_injects_into_new_and_open_groups(store: Arc<dyn EventStore>) {
    let opened = store
        .idempotent_inject_event(&TransferNoted {
            note_id: 1,
            transfer_id: 3,
        })
        .await
        .expect("into a new group");
    assert!(matches!(opened, InjectStatus::Injected { .. }));
    let joined = store
        .idempotent_inject_event(&TransferNoted {
            note_id: 2,
            transfer_id: 3,
        })
        .await
        .expect("into an open group");
    assert!(matches!(joined, InjectStatus::Injected { .. }));
    assert_eq!(
        store
            .stream_version(&group("Transfer-3"))
            .await
            .expect("version"),
        Some(2)
    );
}

async fn concurrent_injections_of_one_event_write_it_once(store: Arc<dyn EventStore>) {
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                store.idempotent_inject_event(&request(30, 4)).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task").expect("inject"));
    }
    let injected = statuses
        .iter()
        .filter(|s| matches!(s, InjectStatus::Injected { .. }))
        .count();
    assert_eq!(injected, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| s.position() == statuses[0].position()),
        "{statuses:?}"
    );
    let stored = store
        .read_stream(&group("Transfer-4"), ReadOptions::all())
        .await
        .expect("read");
    assert_eq!(stored.len(), 1);
}

on_every_backend!(memory, sqlite, postgres; [
    a_request_waits_for_the_response_a_responder_injects,
    injecting_again_is_a_duplicate_and_writes_nothing,
    status_failures_name_the_group_and_write_nothing,
    status_any_injects_into_new_and_open_groups,
    concurrent_injections_of_one_event_write_it_once
]);
