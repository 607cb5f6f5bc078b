//! The relay's throughput against plain async-nats JetStream publishes of
//! the same messages, in the same run, on the same NATS server (issue 18,
//! item 7): 100,000 events in a memory store (the feed costs nothing to
//! read, so the relay's own cost shows), published by `Relay::catch_up`
//! into a fresh JetStream stream, and by a hand-written loop (the same
//! subjects, headers and payloads, the same window of 256 outstanding
//! acknowledgements, each acknowledgement awaited in order) into another.
//! Repetitions alternate the two; the figure is the median of their
//! ratios.
//!
//! `cargo bench --features nats --bench relay [-- --events N --reps N]`;
//! `NATS_URL` picks the server, else a throwaway `nats-server -js` runs.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use factum::memory::MemoryStore;
use factum::nats::async_nats::{self, jetstream};
use factum::nats::testing::{NatsServer, unique_name};
use factum::nats::{Relay, RelayOptions, SubjectPrefix, envelope};
use factum::{
    BoxError, EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition,
    RecordedEvent, StreamAppend, StreamId,
};

/// Outstanding acknowledgements on both sides.
const WINDOW: usize = 256;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A memory store holding `events` events of ~150 bytes over 1,000 streams.
async fn store(events: usize) -> Result<(Arc<MemoryStore>, Vec<RecordedEvent>), BoxError> {
    let store = Arc::new(MemoryStore::new());
    let payload = |n: usize| {
        format!(r#"{{"account":"acct-{}","amount":{n},"note":"a deposit made while benchmarking the relay"}}"#, n % 1000)
            .into_bytes()
    };
    for chunk in (0..events).collect::<Vec<_>>().chunks(1_000) {
        let appends = chunk
            .chunks(10)
            .map(|ten| {
                let stream = StreamId::new(format!("account-{}", ten[0] / 10 % 1_000))?;
                let events = ten
                    .iter()
                    .map(|&n| EventData::json("Deposited", payload(n)))
                    .collect();
                Ok(StreamAppend::new(stream, ExpectedVersion::Any, events))
            })
            .collect::<Result<Vec<_>, BoxError>>()?;
        store.append_many(appends).await?;
    }
    let feed = store.read_all(GlobalPosition::START, events).await?;
    Ok((store, feed))
}

/// Publishes `feed` by hand: what a user would write with async-nats.
async fn plain(
    context: &jetstream::Context,
    prefix: &SubjectPrefix,
    feed: &[RecordedEvent],
) -> Result<(), BoxError> {
    let mut pending = VecDeque::new();
    for event in feed {
        let subject = prefix.subject(&event.stream_id, &event.event_type);
        let ack = context
            .publish_with_headers(
                subject,
                envelope::headers(event),
                event.payload.clone().into(),
            )
            .await?;
        pending.push_back(ack);
        if pending.len() >= WINDOW
            && let Some(ack) = pending.pop_front()
        {
            ack.await?;
        }
    }
    for ack in pending {
        ack.await?;
    }
    Ok(())
}

/// A fresh JetStream stream capturing `prefix`.
async fn fresh_stream(
    context: &jetstream::Context,
    prefix: &SubjectPrefix,
) -> Result<String, BoxError> {
    let name = unique_name("BENCH").replace('-', "_");
    context
        .create_stream(jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![prefix.wildcard()],
            ..Default::default()
        })
        .await?;
    Ok(name)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let events = arg("--events", 100_000);
    let reps = arg("--reps", 3);
    let server = NatsServer::start().await?;
    let client = async_nats::connect(server.url()).await?;
    let context = jetstream::new(client.clone());
    let (store, feed) = store(events).await?;
    println!(
        "relay benchmark: {events} events, {reps} repetitions, window {WINDOW}, NATS at {}",
        server.url()
    );
    let mut ratios = Vec::new();
    for rep in 0..reps {
        let prefix = SubjectPrefix::new(unique_name("p").replace('-', "_"))?;
        let name = fresh_stream(&context, &prefix).await?;
        let start = Instant::now();
        plain(&context, &prefix, &feed).await?;
        let plain_rate = events as f64 / start.elapsed().as_secs_f64();
        context.delete_stream(&name).await?;

        let prefix = SubjectPrefix::new(unique_name("r").replace('-', "_"))?;
        let name = fresh_stream(&context, &prefix).await?;
        let options = RelayOptions::new(name.clone())
            .with_prefix(prefix)
            .with_window(WINDOW);
        let relay = Relay::new(store.clone(), client.clone(), options);
        let start = Instant::now();
        let published = relay.catch_up().await?;
        let relay_rate = events as f64 / start.elapsed().as_secs_f64();
        if published != events as u64 {
            return Err(format!("the relay published {published} of {events} events").into());
        }
        context.delete_stream(&name).await?;
        let ratio = relay_rate / plain_rate;
        println!(
            "  rep {rep}: relay {relay_rate:.0} events/s, plain {plain_rate:.0} events/s, ratio {ratio:.2}"
        );
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "relay / plain: median {:.2} (range {:.2}-{:.2})",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    Ok(())
}
