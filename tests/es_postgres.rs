//! Code written for es-postgres (Cobalt) compiles as written: the derives
//! and calls below are the snippets of its documentation, word for word
//! where they are complete. Where it elides (`{ ... }`), the test fills in
//! fields; where it names a type it never shows (`ResponseSet`: the
//! correlation set of the injected request), the test declares it. An
//! event derives `InjectableEvent` alone (plus serde), `status = { exists }`
//! is accepted, and `idempotent_inject_event_and_wait` returns its handle
//! without `.await`, the injection going on in the background.

#![allow(missing_docs)] // The snippets as es-postgres documents them: public, without doc comments.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::on_every_backend;
use factum::{
    CorrelatedSet, CorrelationStatus, DomainEvent, EventReader, EventStore, InjectEvents,
    InjectStatus, InjectableEvent, WaitForFeed,
};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
#[es(prefix = "Transfer")] // Custom prefix (defaults to struct name)
pub struct TransferEvents;

/// The set named at the call: the correlation set of the request.
type ResponseSet = TransferEvents;

#[derive(Debug, PartialEq, Serialize, Deserialize, InjectableEvent)]
#[es(
    idempotency = ["request_id"],      // Unique per event
    correlation = ["correlation_id"],   // Shared across flow
    correlation_set = TransferEvents
)]
pub struct RequestEvent {
    pub request_id: i64,     // e.g., 1 (unique to this request)
    pub correlation_id: i64, // e.g., 1 (identifies the transfer flow)
}

#[derive(Debug, PartialEq, Serialize, Deserialize, InjectableEvent)]
#[es(
    idempotency = ["request_id"],
    correlation = ["correlation_id"],
    correlation_set = TransferEvents,
    status = { exists }  // Expects correlation group to exist
)]
pub struct ResponseEvent {
    pub request_id: i64,     // e.g., 2 (different from RequestEvent)
    pub correlation_id: i64, // e.g., 1 (same - links them together)
}

#[test]
fn the_derive_alone_gives_the_documented_keys_and_statuses() {
    let request = RequestEvent {
        request_id: 1,
        correlation_id: 1,
    };
    let response = ResponseEvent {
        request_id: 2,
        correlation_id: 1,
    };
    assert_eq!(request.idempotency_key(), "RequestEvent-1");
    assert_eq!(request.correlation_id(), "Transfer-1");
    assert_eq!(response.idempotency_key(), "ResponseEvent-2");
    assert_eq!(response.correlation_id(), "Transfer-1");
    // `InjectableEvent` brought `DomainEvent` along.
    assert_eq!(RequestEvent::EVENT_TYPES, ["RequestEvent"]);
    assert_eq!(response.event_type(), "ResponseEvent");
    assert_eq!(RequestEvent::STATUS, CorrelationStatus::New);
    assert_eq!(ResponseEvent::STATUS, CorrelationStatus::Exists);
}

/// "Events with `status = { exists }`": the handle, not awaited; the
/// request's commit, seen by the feed; the response; the handle yields it.
async fn wait_for_the_request_then_respond(
    es_handle: Arc<dyn EventStore>,
) -> Result<(), factum::BoxError> {
    // Inject first event
    let wait_handle = es_handle.idempotent_inject_event_and_wait::<ResponseSet, _>(RequestEvent {
        request_id: 1,
        correlation_id: 1,
    });

    // Wait for commit (correlation group now exists)
    es_handle.poll().await_count(1).await?;

    // Now safe to inject with status = { exists }
    es_handle
        .idempotent_inject_event(ResponseEvent {
            request_id: 2,
            correlation_id: 1,
        })
        .await?;

    let waited = wait_handle.await?;
    assert!(matches!(waited.status, InjectStatus::Injected { .. }));
    let response = waited.response(Duration::from_secs(10)).await?;
    assert_eq!(response.stream_id.as_str(), "Transfer-1");
    assert_eq!(
        response.decode::<ResponseEvent>()?,
        ResponseEvent {
            request_id: 2,
            correlation_id: 1
        }
    );

    // InjectStatus: `Duplicate`: same idempotency key exists (no-op).
    let again = es_handle
        .idempotent_inject_event(RequestEvent {
            request_id: 1,
            correlation_id: 1,
        })
        .await?;
    assert!(matches!(again, InjectStatus::Duplicate { .. }));
    Ok(())
}

/// "DO: Wait for first event to commit": the handle is dropped at once,
/// and the injection still commits.
async fn drop_the_handle_and_wait_for_the_commit(
    es_handle: Arc<dyn EventStore>,
) -> Result<(), factum::BoxError> {
    // CORRECT - wait for correlation group to be created
    es_handle.idempotent_inject_event_and_wait::<_, _>(RequestEvent {
        request_id: 3,
        correlation_id: 2,
    });
    es_handle.poll().await_count(1).await?;
    let injected = es_handle
        .idempotent_inject_event(ResponseEvent {
            request_id: 4,
            correlation_id: 2,
        })
        .await?;
    assert!(matches!(injected, InjectStatus::Injected { .. }));
    assert_eq!(es_handle.poll().await_count(2).await?, 2);
    Ok(())
}

async fn request_response(store: Arc<dyn EventStore>) {
    wait_for_the_request_then_respond(store)
        .await
        .expect("the documented flow");
}

async fn fire_and_forget(store: Arc<dyn EventStore>) {
    drop_the_handle_and_wait_for_the_commit(store)
        .await
        .expect("the documented flow");
}

on_every_backend!(memory, sqlite, postgres; [request_response, fire_and_forget]);

/// How the handle reports an injection that fails: the status check of a
/// response whose group does not exist, and no runtime to run in.
#[test]
fn the_handle_reports_a_failed_injection() {
    let store: Arc<dyn EventStore> = Arc::new(factum::memory::MemoryStore::new());
    let response = ResponseEvent {
        request_id: 9,
        correlation_id: 9,
    };
    // Outside a runtime nothing can run in the background.
    let handle = store.idempotent_inject_event_and_wait::<ResponseSet, _>(&response);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let err = runtime
        .block_on(handle.injected())
        .expect_err("no runtime to start in");
    assert!(err.to_string().contains("tokio"), "{err}");

    let handle = runtime
        .block_on(async { store.idempotent_inject_event_and_wait::<ResponseSet, _>(&response) });
    match runtime.block_on(handle.response(Duration::from_secs(1))) {
        Err(factum::Error::CorrelationStatus {
            group,
            expected: CorrelationStatus::Exists,
            events: None,
        }) => assert_eq!(group.as_str(), "Transfer-9"),
        other => panic!("expected the `exists` check to fail, got {other:?}"),
    }
    let head = runtime.block_on(store.head_position()).expect("head");
    assert_eq!(head, None, "nothing was written");
}
