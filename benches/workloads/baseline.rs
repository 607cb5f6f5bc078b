//! The baseline each workload is measured against: the same rows written
//! and read with no event store in between.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::Row;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Plain storage of event rows: one append is one statement (or, in
/// memory, one push under a lock).
#[async_trait]
pub(crate) trait Baseline: Send + Sync {
    /// Writes `rows` to `stream` at versions `first_version..`, as one
    /// statement; a taken version fails (the unique key is the only check).
    async fn append(&self, stream: &str, first_version: u64, rows: &[Row]) -> Result<(), BoxError>;

    /// The payloads of `stream`, by version.
    async fn read(&self, stream: &str) -> Result<Vec<Vec<u8>>, BoxError>;
}

/// A map of vectors under one lock: what a hand-written in-memory store is.
#[derive(Default)]
pub(crate) struct MemoryBaseline {
    streams: Mutex<HashMap<String, Vec<Row>>>,
}

#[async_trait]
impl Baseline for MemoryBaseline {
    async fn append(&self, stream: &str, first_version: u64, rows: &[Row]) -> Result<(), BoxError> {
        let mut streams = self.streams.lock().map_err(|_| "poisoned")?;
        let events = streams.entry(stream.to_owned()).or_default();
        if events.len() as u64 + 1 != first_version {
            return Err(format!("version {first_version} of {stream} is taken").into());
        }
        events.extend(rows.iter().cloned());
        Ok(())
    }

    async fn read(&self, stream: &str) -> Result<Vec<Vec<u8>>, BoxError> {
        let streams = self.streams.lock().map_err(|_| "poisoned")?;
        Ok(streams
            .get(stream)
            .map(|rows| rows.iter().map(|r| r.payload.clone()).collect())
            .unwrap_or_default())
    }
}
