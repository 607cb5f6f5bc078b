//! The transfer example: request/response between two parties through the
//! event store, with derived idempotency keys and correlation ids, so that
//! every step is safe to retry.
//!
//! A client injects `TransferRequested` events (each opens the correlation
//! group `Transfer-{transfer_id}`) and waits for the answer; the bank, a
//! projection fed by a `ProjectionRunner`, injects a `TransferAnswered` into
//! the same group. Retrying a request writes nothing and finds the stored
//! answer; answering a transfer nobody requested is refused.
//!
//! Run it with `cargo run --example transfer` (SQLite file
//! `factum-transfer.db`; `DATABASE_URL` picks another store). The bank's
//! checkpoint lives in the store, so a second run resumes after it: its
//! fixed requests are duplicates, answered by the earlier run, and the bank
//! handles only the one new transfer that each run sends.

mod common;

use std::sync::Arc;
use std::time::Duration;

use factum::{
    BoxError, CorrelatedSet, Error, EventFilter, EventStore, InjectEvents, InjectStatus,
    InjectableEvent, Projection, ProjectionError, ProjectionRunner, RecordedEvent, StreamId,
    async_trait,
};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// The family of events of one transfer: its correlation groups are the
/// streams `Transfer-{transfer_id}`.
#[derive(CorrelatedSet)]
#[es(prefix = "Transfer")]
struct Transfer;

/// A client asks to move money. Opens the group (`status = new`, the default).
/// `InjectableEvent` also implements `DomainEvent`: stored as
/// `TransferRequested`, in JSON.
#[derive(Debug, Clone, Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["request_id"], correlation = ["transfer_id"], correlation_set = Transfer)]
struct TransferRequested {
    request_id: u64,
    transfer_id: u64,
    amount: u64,
}

/// The bank answers. Joins an existing group.
#[derive(Debug, Clone, Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["request_id"], correlation = ["transfer_id"], correlation_set = Transfer, status = exists)]
struct TransferAnswered {
    request_id: u64,
    transfer_id: u64,
    accepted: bool,
}

/// Transfers above this are refused.
const LIMIT: u64 = 1_000;

/// The bank: answers each request. Its runner saves a checkpoint in the
/// store, so a restarted bank handles only the requests stored since; one
/// handled again (after a crash between an answer and its checkpoint) is
/// answered again as a duplicate, which writes nothing.
struct Bank {
    store: Arc<dyn EventStore>,
    /// The idempotency keys of the requests this run handled.
    handled: Vec<String>,
}

#[async_trait]
impl Projection for Bank {
    fn name(&self) -> &str {
        "transfer-bank"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all()
            .categories([Transfer::PREFIX])
            .event_types(["TransferRequested"])
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        let request: TransferRequested = event.decode()?;
        let answer = TransferAnswered {
            request_id: request.request_id,
            transfer_id: request.transfer_id,
            accepted: request.amount <= LIMIT,
        };
        self.store.idempotent_inject_event(&answer).await?;
        self.handled.push(request.idempotency_key());
        Ok(())
    }
}

/// Runs the bank until `stop`, then catches it up once more, so that its
/// checkpoint covers every request it answered. Returns the requests it
/// handled.
async fn run_bank(
    mut bank: ProjectionRunner<Arc<dyn EventStore>, Bank>,
    stop: oneshot::Receiver<()>,
) -> Result<Vec<String>, ProjectionError> {
    tokio::select! {
        stopped = bank.run() => {
            let Err(error) = stopped;
            return Err(error);
        }
        _ = stop => {}
    }
    bank.catch_up().await?;
    Ok(std::mem::take(&mut bank.projection_mut().handled))
}

/// The first transfer id from `from` on whose group holds no event: a
/// transfer that no earlier run sent.
async fn unsent_transfer(store: &Arc<dyn EventStore>, from: u64) -> Result<u64, BoxError> {
    let mut transfer_id = from;
    loop {
        let probe = TransferRequested {
            request_id: transfer_id,
            transfer_id,
            amount: 0,
        };
        let group = StreamId::new(probe.correlation_id())?;
        if store.stream_version(&group).await?.is_none() {
            return Ok(transfer_id);
        }
        transfer_id += 1;
    }
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
    let bank = Bank {
        store: store.clone(),
        handled: Vec::new(),
    };
    let bank = ProjectionRunner::new(store.clone(), bank);
    match bank.checkpoint().await? {
        Some(checkpoint) => println!(
            "The bank resumes after position {checkpoint}: it handles only the requests stored since.\n"
        ),
        None => println!("The bank starts from the first event.\n"),
    }
    let (stop, stopped) = oneshot::channel();
    let bank = tokio::spawn(run_bank(bank, stopped));

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

    println!("\nEach run also sends a transfer that no earlier run sent:");
    let transfer_id = unsent_transfer(&store, 102).await?;
    request(
        &store,
        TransferRequested {
            request_id: transfer_id,
            transfer_id,
            amount: 40,
        },
    )
    .await?;

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

    // Ignoring a failed send: the bank has stopped already, and says why below.
    let _ = stop.send(());
    let handled = bank.await??;
    println!(
        "\nRequests the bank handled in this run ({}): {}",
        handled.len(),
        handled.join(", ")
    );
    Ok(())
}
