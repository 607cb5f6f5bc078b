//! The subscription example: a live projection following concurrent
//! writers. Three writer tasks deposit into accounts while a projection
//! keeps a balance per account; the example checks the read model against
//! the events when the writers are done, and shows the projection's lag.
//!
//! Run it with `cargo run --example subscription`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use factum::memory::MemoryStore;
use factum::{
    BoxError, EventAppender, EventData, EventFilter, EventStore, ExpectedVersion, PollStore,
    Projection, ProjectionRunner, RecordedEvent, StreamId,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Deposited {
    amount: u64,
}

/// Balance per account, kept in memory for the example.
#[derive(Clone, Default)]
struct Balances {
    by_account: Arc<Mutex<BTreeMap<String, u64>>>,
}

#[async_trait]
impl Projection for Balances {
    fn name(&self) -> &str {
        "balances"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all()
            .categories(["account"])
            .event_types(["Deposited"])
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        let deposit: Deposited = serde_json::from_slice(&event.payload)?;
        let mut balances = self
            .by_account
            .lock()
            .map_err(|_| "balances lock poisoned")?;
        *balances.entry(event.stream_id.to_string()).or_default() += deposit.amount;
        Ok(())
    }
}

const WRITERS: u64 = 3;
const DEPOSITS: u64 = 200;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let balances = Balances::default();
    let mut runner = ProjectionRunner::new(store.clone(), balances.clone())
        .with_poll_interval(Duration::from_millis(50));
    let projection = tokio::spawn(async move { runner.run().await });

    println!("{WRITERS} writers deposit {DEPOSITS} times each while the projection follows");
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let account = StreamId::new(format!("account-{w}"))?;
                for amount in 1..=DEPOSITS {
                    let payload = serde_json::to_vec(&Deposited { amount })?;
                    let event = EventData::json("Deposited", payload);
                    store
                        .append(&account, ExpectedVersion::Any, vec![event])
                        .await?;
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    store
        .poll()
        .await_count((WRITERS * DEPOSITS) as usize)
        .await?;

    // Wait until the projection has handled everything, by its checkpoint.
    let checker = ProjectionRunner::new(store.clone(), Balances::default());
    loop {
        let lag = checker.lag().await?;
        let show =
            |p: Option<factum::GlobalPosition>| p.map_or("none".to_owned(), |p| p.to_string());
        println!(
            "projection checkpoint {}, feed head {}",
            show(lag.checkpoint),
            show(lag.head)
        );
        if lag.caught_up() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    projection.abort();

    let expected: u64 = (1..=DEPOSITS).sum();
    let by_account = balances
        .by_account
        .lock()
        .map_err(|_| "lock poisoned")?
        .clone();
    for (account, balance) in &by_account {
        println!("{account}: {balance}");
        assert_eq!(*balance, expected, "the read model must equal the events");
    }
    assert_eq!(by_account.len() as u64, WRITERS);
    println!("every balance equals the sum of its deposits ({expected})");
    Ok(())
}
