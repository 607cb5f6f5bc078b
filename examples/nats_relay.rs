//! The NATS relay example: the bank example's events leave the store for a
//! NATS JetStream stream, exactly once and in order, and a consumer on the
//! other side (it could run on another machine, with no access to the
//! database) prints them.
//!
//! Run `cargo run --example bank` first (its events go to the SQLite file
//! `factum-bank.db`), then, with a NATS server with JetStream running
//! (`nats-server -js`; `NATS_URL` picks another than
//! `nats://127.0.0.1:4222`):
//!
//! ```text
//! cargo run --features nats --example nats_relay
//! ```
//!
//! The JetStream stream `FACTUM_BANK` (subjects `bank.>`, e.g.
//! `bank.account.Deposited`) is the relay's checkpoint and the consumer
//! `printer` remembers what it printed: a second run relays and prints
//! only the events the bank wrote since.

mod common;

use factum::nats::{JetStreamFeed, Relay, RelayOptions, SubjectPrefix, async_nats};
use factum::{BoxError, Projection, RecordedEvent, async_trait};

/// Prints each event it is given.
struct Printer;

#[async_trait]
impl Projection for Printer {
    fn name(&self) -> &str {
        "printer"
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        println!(
            "  {} {}@{} {} {}",
            event.position,
            event.stream_id,
            event.stream_version,
            event.event_type,
            String::from_utf8_lossy(&event.payload)
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let store = common::open_store("bank").await?;
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(&url).await.map_err(|e| {
        format!("cannot reach NATS at {url} ({e}): start `nats-server -js`, or set NATS_URL")
    })?;

    let options = RelayOptions::new("FACTUM_BANK").with_prefix(SubjectPrefix::new("bank")?);
    let relay = Relay::new(store, client.clone(), options.clone());
    relay.ensure_stream().await?;
    let published = relay.catch_up().await?;
    println!("Relayed {published} new event(s) to JetStream stream FACTUM_BANK.");

    println!("The consumer `printer` reads:");
    let feed = JetStreamFeed::durable(client, options.stream(), "printer").await?;
    let printed = feed.catch_up(&mut Printer).await?;
    println!("Printed {printed} event(s); a second run prints only new ones.");
    Ok(())
}
