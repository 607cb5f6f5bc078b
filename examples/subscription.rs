//! The subscription example: a live projection following concurrent
//! writers. Three writer tasks deposit into wallets while a projection
//! keeps a balance per wallet; when the writers are done the example waits,
//! by the projection's lag, until it has caught up, and checks the read
//! model against a fold of the stored events.
//!
//! The read model lives in memory, so each run first rebuilds it from the
//! feed (resetting the projection's checkpoint), then follows live.
//!
//! Run it with `cargo run --example subscription` (SQLite file
//! `factum-subscription.db`; `DATABASE_URL` picks another store).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use factum::{
    BoxError, EventData, EventFilter, ExpectedVersion, Projection, ProjectionRunner, ReadOptions,
    RecordedEvent, StreamId, async_trait,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Deposited {
    amount: u64,
}

/// Balance per wallet, kept in memory for the example.
#[derive(Clone, Default)]
struct Balances {
    by_wallet: Arc<Mutex<BTreeMap<String, u64>>>,
}

#[async_trait]
impl Projection for Balances {
    fn name(&self) -> &str {
        "balances"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all()
            .categories(["wallet"])
            .event_types(["Deposited"])
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        let deposit: Deposited = serde_json::from_slice(&event.payload)?;
        let mut balances = self
            .by_wallet
            .lock()
            .map_err(|_| "balances lock poisoned")?;
        *balances.entry(event.stream_id.to_string()).or_default() += deposit.amount;
        Ok(())
    }

    /// Clears the balances, so that a rebuild folds every deposit once.
    async fn reset(&mut self) -> Result<(), BoxError> {
        self.by_wallet
            .lock()
            .map_err(|_| "balances lock poisoned")?
            .clear();
        Ok(())
    }
}

const WRITERS: u64 = 3;
const DEPOSITS: u64 = 200;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let store = common::open_store("subscription").await?;
    let balances = Balances::default();
    let mut runner = ProjectionRunner::new(store.clone(), balances.clone())
        .with_poll_interval(Duration::from_millis(50));
    let rebuilt = runner.rebuild().await?;
    println!("Rebuilt the read model from {rebuilt} stored deposits");
    let projection = tokio::spawn(async move { runner.run().await });

    println!("{WRITERS} writers deposit {DEPOSITS} times each while the projection follows");
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let wallet = StreamId::new(format!("wallet-{w}"))?;
                for amount in 1..=DEPOSITS {
                    let payload = serde_json::to_vec(&Deposited { amount })?;
                    let event = EventData::json("Deposited", payload);
                    store
                        .append(&wallet, ExpectedVersion::Any, vec![event])
                        .await?;
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
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

    let by_wallet = balances
        .by_wallet
        .lock()
        .map_err(|_| "lock poisoned")?
        .clone();
    for w in 0..WRITERS {
        let wallet = StreamId::new(format!("wallet-{w}"))?;
        let mut folded = 0;
        for event in store.read_stream(&wallet, ReadOptions::all()).await? {
            folded += serde_json::from_slice::<Deposited>(&event.payload)?.amount;
        }
        let projected = by_wallet.get(wallet.as_str()).copied().unwrap_or(0);
        println!("{wallet}: read model {projected}, fold of its events {folded}");
        if projected != folded {
            return Err(format!("the read model of {wallet} differs from its events").into());
        }
    }
    println!("Every balance equals the fold of its events.");
    Ok(())
}
