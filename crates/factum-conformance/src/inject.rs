//! Idempotent injection of correlated events, request/response, and
//! waiting on the feed.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use factum_core::{
    CorrelatedSet, CorrelationStatus, DomainEvent, Error, EventStore, InjectEvents, InjectStatus,
    InjectableEvent, ReadOptions, StreamId, WaitForFeed,
};

pub(super) struct Transfer;

impl CorrelatedSet for Transfer {
    const PREFIX: &'static str = "Transfer";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TransferRequested {
    request_id: u64,
    transfer_id: u64,
    amount: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TransferAnswered {
    request_id: u64,
    transfer_id: u64,
    accepted: bool,
}

impl DomainEvent for TransferRequested {
    const EVENT_TYPES: &'static [&'static str] = &["TransferRequested"];
    fn event_type(&self) -> &'static str {
        "TransferRequested"
    }
}

impl DomainEvent for TransferAnswered {
    const EVENT_TYPES: &'static [&'static str] = &["TransferAnswered"];
    fn event_type(&self) -> &'static str {
        "TransferAnswered"
    }
}

impl InjectableEvent for TransferRequested {
    type Set = Transfer;
    const STATUS: CorrelationStatus = CorrelationStatus::New;
    fn idempotency_key(&self) -> String {
        format!("{}-{}", self.event_type(), self.request_id)
    }
    fn correlation_id(&self) -> String {
        format!("{}-{}", Transfer::PREFIX, self.transfer_id)
    }
}

impl InjectableEvent for TransferAnswered {
    type Set = Transfer;
    const STATUS: CorrelationStatus = CorrelationStatus::Exists;
    fn idempotency_key(&self) -> String {
        format!("{}-{}", self.event_type(), self.request_id)
    }
    fn correlation_id(&self) -> String {
        format!("{}-{}", Transfer::PREFIX, self.transfer_id)
    }
}

pub(super) fn request(request_id: u64, transfer_id: u64) -> TransferRequested {
    TransferRequested {
        request_id,
        transfer_id,
        amount: 10,
    }
}

pub(super) fn answer(request_id: u64, transfer_id: u64) -> TransferAnswered {
    TransferAnswered {
        request_id,
        transfer_id,
        accepted: true,
    }
}

/// Injected, then duplicate; status checks fail with a typed error naming
/// the group and write nothing.
pub async fn injection_is_idempotent_and_checks_status(store: &dyn EventStore) {
    let first = store
        .idempotent_inject_event(&request(1, 7))
        .await
        .expect("inject");
    let InjectStatus::Injected { position } = first else {
        panic!("first injection must write: {first:?}")
    };
    let again = store
        .idempotent_inject_event(&request(1, 7))
        .await
        .expect("inject again");
    assert_eq!(again, InjectStatus::Duplicate { position });

    let group = StreamId::new("Transfer-7").expect("valid");
    let stored = store
        .read_stream(&group, ReadOptions::all())
        .await
        .expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].idempotency_key.as_deref(),
        Some("TransferRequested-1")
    );
    assert_eq!(
        stored[0].metadata.correlation_id.as_deref(),
        Some("Transfer-7")
    );
    assert_eq!(
        stored[0].decode::<TransferRequested>().expect("decode"),
        request(1, 7)
    );

    // A second request into an existing group breaks `new`.
    match store.idempotent_inject_event(&request(2, 7)).await {
        Err(Error::CorrelationStatus {
            group,
            expected: CorrelationStatus::New,
            events: Some(1),
        }) => {
            assert_eq!(group.as_str(), "Transfer-7");
        }
        other => panic!("expected a `new` status failure, got {other:?}"),
    }
    // An answer to a group that does not exist breaks `exists`.
    let err = store
        .idempotent_inject_event(&answer(3, 8))
        .await
        .expect_err("no group 8");
    assert!(
        matches!(
            err,
            Error::CorrelationStatus {
                expected: CorrelationStatus::Exists,
                events: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Transfer-8"), "{err}");
    assert_eq!(
        store
            .stream_version(&StreamId::new("Transfer-8").expect("valid"))
            .await
            .expect("version"),
        None
    );
    assert_eq!(
        store
            .read_stream(&group, ReadOptions::all())
            .await
            .expect("read")
            .len(),
        1
    );
    assert!(matches!(
        store.idempotent_inject_event(&answer(3, 7)).await,
        Ok(InjectStatus::Injected { .. })
    ));
}

/// A request waits for its response; a retried request finds the response
/// already there.
pub async fn inject_and_wait_returns_the_response(store: &Arc<dyn EventStore>) {
    let responder = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .wait_for_feed()
                .await_count(1)
                .await
                .expect("the request arrives");
            store
                .idempotent_inject_event(&answer(11, 5))
                .await
                .expect("answer")
        })
    };
    let waiting = store
        .idempotent_inject_event_and_wait::<Transfer, _>(&request(10, 5))
        .await
        .expect("inject");
    assert!(matches!(waiting.status, InjectStatus::Injected { .. }));
    let response = waiting
        .response(Duration::from_secs(10))
        .await
        .expect("a response");
    assert_eq!(
        response.decode::<TransferAnswered>().expect("decode"),
        answer(11, 5)
    );
    let answered = responder.await.expect("responder finished");
    assert_eq!(answered.position(), response.position);

    let retry = store
        .idempotent_inject_event_and_wait::<Transfer, _>(&request(10, 5))
        .await
        .expect("retry");
    assert!(matches!(retry.status, InjectStatus::Duplicate { .. }));
    let again = retry
        .response(Duration::from_millis(1))
        .await
        .expect("already answered");
    assert_eq!(again.event_id, response.event_id);

    let lonely = store
        .idempotent_inject_event_and_wait::<Transfer, _>(&request(20, 6))
        .await
        .expect("inject");
    let err = lonely
        .response(Duration::from_millis(30))
        .await
        .expect_err("nobody answers");
    assert!(
        matches!(err, Error::Timeout { .. }) && err.to_string().contains("Transfer-6"),
        "{err}"
    );
    let err = store
        .wait_for_feed()
        .with_timeout(Duration::from_millis(20))
        .await_count(100)
        .await
        .expect_err("only 3 events");
    assert!(err.to_string().contains("saw 3"), "{err}");
}

/// 8 tasks inject the same event at once: one writes, seven learn
/// `Duplicate` of it.
pub async fn concurrent_injections_write_once(store: &Arc<dyn EventStore>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.idempotent_inject_event(&request(30, 9)).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(
            task.await
                .expect("task")
                .expect("inject never fails on a retry"),
        );
    }
    let injected = statuses
        .iter()
        .filter(|s| matches!(s, InjectStatus::Injected { .. }))
        .count();
    assert_eq!(injected, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| s.position() == statuses[0].position())
    );
    assert_eq!(
        store.wait_for_feed().await_count(1).await.expect("count"),
        1
    );
}
