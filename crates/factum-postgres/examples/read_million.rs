//! Writes one stream of 1,000,000 events, then reads it back lazily through
//! `read_stream_events` and reports the peak resident memory of the read.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p factum-postgres --example read_million
//! ```
//!
//! Without `DATABASE_URL` it starts a throwaway cluster (as the tests do).
//! The events go to a schema of their own, dropped at the end.

use std::time::Instant;

use factum_core::{EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamId};
use factum_postgres::testing::TestSchema;
use futures::TryStreamExt;

const EVENTS: u64 = 1_000_000;
const BATCH: u64 = 2_000;

/// A line of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (store, schema) = TestSchema::store().await?;
    let stream = StreamId::new("million")?;
    let payload = br#"{"account":"acc-000123","amount":12345,"currency":"EUR","note":"a typical small event payload of about 150 bytes, padded to size"}"#;

    let started = Instant::now();
    for batch in 0..EVENTS / BATCH {
        let events = (0..BATCH)
            .map(|_| EventData::json("Deposited", payload.to_vec()))
            .collect();
        let expected = if batch == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(batch * BATCH)
        };
        store.append(&stream, expected, events).await?;
    }
    println!(
        "wrote {EVENTS} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    println!("peak RSS while writing: {} KiB", status_kib("VmHWM:"));
    // Forget the peak of the writing phase: "5" resets VmHWM to the current RSS.
    std::fs::write("/proc/self/clear_refs", "5")?;
    let before = status_kib("VmRSS:");

    let started = Instant::now();
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut events = store.read_stream_events(&stream, ReadOptions::all());
    while let Some(event) = events.try_next().await? {
        count += 1;
        bytes += event.payload.len() as u64;
        assert_eq!(event.stream_version, count, "versions arrive in order");
    }
    drop(events);
    let peak = status_kib("VmHWM:");
    println!(
        "read {count} events ({} MiB of payload) in {:.1} s",
        bytes / (1 << 20),
        started.elapsed().as_secs_f64()
    );
    println!(
        "RSS before the read: {before} KiB; peak RSS during the read: {peak} KiB (+{} KiB)",
        peak.saturating_sub(before)
    );
    assert_eq!(count, EVENTS);
    if std::env::var_os("READ_MILLION_COLLECT").is_some() {
        // For comparison: the same read collected into one Vec.
        std::fs::write("/proc/self/clear_refs", "5")?;
        let all = store.read_stream(&stream, ReadOptions::all()).await?;
        println!(
            "collected {} events into a Vec: peak RSS {} KiB",
            all.len(),
            status_kib("VmHWM:")
        );
    }
    drop(store);
    drop(schema);
    Ok(())
}
