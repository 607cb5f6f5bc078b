//! The transfer example: request/response between two parties through the
//! event store, with derived idempotency keys and correlation ids, so that
//! every step is safe to retry.
//!
//! A client injects `TransferRequested` events (each opens the correlation
//! group `Transfer-{transfer_id}`) and waits for the answer; a bank task
//! follows the feed and injects a `TransferAnswered` into the same group.
//! Retrying a request writes nothing and finds the stored answer; answering
//! a transfer nobody requested is refused.
//!
//! Run it with `cargo run --example transfer` (SQLite file
//! `factum-transfer.db`; `DATABASE_URL` picks another store). A second run
//! finds its requests already stored: every injection is then a duplicate,
//! and the answers come from the earlier run.

mod common;

use std::sync::Arc;
use std::time::Duration;

use factum::{
    BoxError, CorrelatedSet, DomainEvent, Error, EventFilter, EventStore, InjectEvents,
    InjectStatus, InjectableEvent, Subscribe, SubscriptionOptions,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

/// The family of events of one transfer: its correlation groups are the
/// streams `Transfer-{transfer_id}`.
#[derive(CorrelatedSet)]
#[es(prefix = "Transfer")]
struct Transfer;

/// A client asks to move money. Opens the group (`status = new`, the default).
#[derive(Debug, Clone, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["request_id"], correlation = ["transfer_id"], correlation_set = Transfer)]
struct TransferRequested {
    request_id: u64,
    transfer_id: u64,
    amount: u64,
}

/// The bank answers. Joins an existing group.
#[derive(Debug, Clone, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["request_id"], correlation = ["transfer_id"], correlation_set = Transfer, status = exists)]
struct TransferAnswered {
    request_id: u64,
    transfer_id: u64,
    accepted: bool,
}

/// Transfers above this are refused.
const LIMIT: u64 = 1_000;

/// Follows the feed and answers every request once (answers are
/// idempotent too, so a restarted bank may see requests again).
async fn bank(store: Arc<dyn EventStore>) -> Result<(), BoxError> {
    let requests = EventFilter::all()
        .categories(["Transfer"])
        .event_types(["TransferRequested"]);
    let mut feed = store.subscribe(SubscriptionOptions::from_start().with_filter(requests));
    while let Some(event) = feed.try_next().await? {
        let request: TransferRequested = event.decode()?;
        let answer = TransferAnswered {
            request_id: request.request_id,
            transfer_id: request.transfer_id,
            accepted: request.amount <= LIMIT,
        };
        store.idempotent_inject_event(&answer).await?;
    }
    Ok(())
}

/// Sends a request and waits for its answer.
async fn request(store: &Arc<dyn EventStore>, request: TransferRequested) -> Result<(), BoxError> {
    let key = request.idempotency_key();
    let waiting = store
        .idempotent_inject_event_and_wait::<Transfer, _>(&request)
        .await?;
    let how = match waiting.status {
        InjectStatus::Injected { position } => format!("injected at {position}"),
        InjectStatus::Duplicate { position } => format!("a retry: already stored at {position}"),
    };
    let answer: TransferAnswered = waiting.response(Duration::from_secs(5)).await?.decode()?;
    let verdict = if answer.accepted {
        "accepted"
    } else {
        "refused"
    };
    println!(
        "{key} for {} ({}): {how}; {verdict}",
        request.correlation_id(),
        request.amount
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let store = common::open_store("transfer").await?;
    let bank = tokio::spawn(bank(store.clone()));

    let first = TransferRequested {
        request_id: 1,
        transfer_id: 100,
        amount: 250,
    };
    request(&store, first.clone()).await?;
    request(
        &store,
        TransferRequested {
            request_id: 2,
            transfer_id: 101,
            amount: 5_000,
        },
    )
    .await?;

    println!("\nThe network dropped the first reply; the client retries the same request:");
    request(&store, first).await?;

    println!("\nA second request into an open transfer breaks its `new` status:");
    let reuse = TransferRequested {
        request_id: 3,
        transfer_id: 100,
        amount: 1,
    };
    match store.idempotent_inject_event(&reuse).await {
        Err(refused @ Error::CorrelationStatus { .. }) => println!("refused: {refused}"),
        other => return Err(format!("expected a status failure, got {other:?}").into()),
    }

    println!("\nAn answer to a transfer nobody requested breaks its `exists` status:");
    let stray = TransferAnswered {
        request_id: 9,
        transfer_id: 999,
        accepted: true,
    };
    match store.idempotent_inject_event(&stray).await {
        Err(refused @ Error::CorrelationStatus { .. }) => println!("refused: {refused}"),
        other => return Err(format!("expected a status failure, got {other:?}").into()),
    }
    bank.abort();
    Ok(())
}
