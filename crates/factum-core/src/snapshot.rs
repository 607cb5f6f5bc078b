//! [`Snapshot`]: an aggregate's state saved at a stream version.

use chrono::{DateTime, Utc};

use crate::{PayloadFormat, RecordedPayload, StreamId};

/// An encoded state of one stream's aggregate, as of `stream_version`.
/// A backend keeps the newest snapshot of each stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The stream the state was folded from.
    pub stream_id: StreamId,
    /// The last event folded into the state.
    pub stream_version: u64,
    /// The version of the state's shape: a snapshot whose schema version no
    /// longer matches the aggregate's is ignored.
    pub schema_version: u32,
    /// How [`state`](Self::state) is encoded.
    pub format: PayloadFormat,
    /// The encoded state.
    pub state: Vec<u8>,
    /// When the snapshot was taken.
    pub taken_at: DateTime<Utc>,
}

/// A stream's snapshot and the first payloads after it, read together (see
/// [`SnapshotStore::load_snapshot_with_payloads`](crate::SnapshotStore::load_snapshot_with_payloads)).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRead {
    /// The stream's snapshot, when it has the schema version asked for and
    /// lies at or before the version asked for.
    pub snapshot: Option<Snapshot>,
    /// The payloads of the events after the snapshot (from version 1
    /// without one), in order, at most as many as asked for, none after the
    /// version asked for.
    pub payloads: Vec<RecordedPayload>,
}
