//! The baseline each workload is measured against: the same rows written
//! and read with no event store in between, as a user would by hand.

mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::{FeedRow, Row as EventRow};

pub(crate) use postgres::PostgresBaseline;
pub(crate) use sqlite::SqliteBaseline;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The metadata both sides write: an empty JSON object.
const NO_METADATA: &str = "{}";

/// Plain storage of event rows and snapshots: one append is one statement
/// (or, in memory, one push under a lock).
#[async_trait]
pub(crate) trait Baseline: Send + Sync {
    /// Writes `rows` to `stream` at versions `first_version..`, as one
    /// statement; a taken version fails (the primary key is the only check).
    async fn append(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError>;

    /// The payloads of `stream` after version `after`, by version.
    async fn read(&self, stream: &str, after: u64) -> Result<Vec<Vec<u8>>, BoxError>;

    /// Stores (replaces) the snapshot of `stream`.
    async fn save_snapshot(&self, stream: &str, version: u64, state: &[u8])
    -> Result<(), BoxError>;

    /// The snapshot of `stream`: its version and state.
    async fn load_snapshot(&self, stream: &str) -> Result<Option<(u64, Vec<u8>)>, BoxError>;

    /// Writes `rows` to the feed table (a global position numbered in the
    /// order written, an index on event type and position; in memory, a
    /// vector), in order, in one statement (SQLite: one transaction).
    async fn append_feed(&self, rows: &[FeedRow]) -> Result<(), BoxError>;

    /// At most `limit` events of `event_type` in the feed table after
    /// position `after`, by position: each one's position and payload.
    async fn read_feed(
        &self,
        event_type: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, BoxError>;

    /// Once the feed is written, brings both sides' tables to the state a
    /// database keeps them in by itself (PostgreSQL: what autovacuum does
    /// after a bulk write); nothing by default.
    async fn settle_feed(&self) -> Result<(), BoxError> {
        Ok(())
    }

    /// Releases connections (the store's too, where they share them).
    async fn close(&self) {}

    /// Ways of writing the same rows that lie between the baseline and
    /// factum, measured beside both in the append workloads to show where
    /// an append's time goes: their names, in order (none by default).
    fn references(&self) -> &'static [&'static str] {
        &[]
    }

    /// Writes `rows` to `stream` at versions `first_version..` the
    /// `way`th of [`references`](Self::references).
    async fn append_reference(
        &self,
        way: usize,
        _stream: &str,
        _first_version: u64,
        _rows: &[EventRow],
    ) -> Result<(), BoxError> {
        Err(format!("no reference way {way}").into())
    }
}

fn version(v: u64) -> Result<i64, BoxError> {
    Ok(i64::try_from(v)?)
}

/// An entry of a [`Baseline::read_feed`] page from a row's position and
/// payload.
fn feed_entry(position: i64, payload: String) -> Result<(u64, Vec<u8>), BoxError> {
    Ok((u64::try_from(position)?, payload.into_bytes()))
}

/// A map of vectors under one lock: what a hand-written in-memory store is;
/// its feed, a vector of every row written through
/// [`append_feed`](Baseline::append_feed), read by a scan.
#[derive(Default)]
pub(crate) struct MemoryBaseline {
    streams: Mutex<HashMap<String, Vec<EventRow>>>,
    feed: Mutex<Vec<EventRow>>,
    snapshots: Mutex<HashMap<String, (u64, Vec<u8>)>>,
}

#[async_trait]
impl Baseline for MemoryBaseline {
    async fn append(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        let mut streams = self.streams.lock().map_err(|_| "poisoned")?;
        let events = streams.entry(stream.to_owned()).or_default();
        if events.len() as u64 + 1 != first_version {
            return Err(format!("version {first_version} of {stream} is taken").into());
        }
        events.extend(rows.iter().cloned());
        Ok(())
    }

    async fn read(&self, stream: &str, after: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let streams = self.streams.lock().map_err(|_| "poisoned")?;
        Ok(streams
            .get(stream)
            .map(|rows| {
                rows.iter()
                    .skip(after as usize)
                    .map(|r| r.payload.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn append_feed(&self, rows: &[FeedRow]) -> Result<(), BoxError> {
        let mut feed = self.feed.lock().map_err(|_| "poisoned")?;
        feed.extend(rows.iter().map(|r| r.row.clone()));
        Ok(())
    }

    async fn read_feed(
        &self,
        event_type: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, BoxError> {
        let feed = self.feed.lock().map_err(|_| "poisoned")?;
        // Position n is the nth row written.
        Ok((after..)
            .zip(feed.iter().skip(usize::try_from(after)?))
            .filter(|(_, row)| row.event_type == event_type)
            .take(limit)
            .map(|(before, row)| (before + 1, row.payload.clone()))
            .collect())
    }

    async fn save_snapshot(
        &self,
        stream: &str,
        version: u64,
        state: &[u8],
    ) -> Result<(), BoxError> {
        let mut snapshots = self.snapshots.lock().map_err(|_| "poisoned")?;
        snapshots.insert(stream.to_owned(), (version, state.to_vec()));
        Ok(())
    }

    async fn load_snapshot(&self, stream: &str) -> Result<Option<(u64, Vec<u8>)>, BoxError> {
        let snapshots = self.snapshots.lock().map_err(|_| "poisoned")?;
        Ok(snapshots.get(stream).cloned())
    }
}
