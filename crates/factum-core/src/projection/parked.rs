//! [`FailurePolicy`] and [`ParkedEvent`]: what a runner does with an event
//! whose handler keeps failing.

use chrono::{DateTime, Utc};

use crate::{GlobalPosition, RecordedEvent, StreamId};

/// What a runner does once its handler has failed on one event as often as
/// its [`RetryPolicy`](crate::RetryPolicy) allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Stop with [`ProjectionError::Handler`](crate::ProjectionError::Handler);
    /// the checkpoint covers the events before the failing one. The default:
    /// nothing is skipped, and restarting after a fix carries on from the
    /// failing event.
    #[default]
    Stop,
    /// Park the event (a [`ParkedEvent`], stored with the error under the
    /// projection's checkpoint name, in the same transaction that moves the
    /// checkpoint past it where the runner commits in transactions) and go
    /// on with the next one. Parked events are listed with
    /// [`CheckpointStore::parked_events`](crate::CheckpointStore::parked_events)
    /// and handled again, after a fix, by the runner's `replay_parked`.
    Park,
}

/// An event a projection's handler could not handle, set aside so that the
/// projection could go on (see [`FailurePolicy::Park`]). Identifies the
/// event (its position, stream and version) and keeps the handler's last
/// error; the event itself stays in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    /// The checkpoint name it is parked under: the projection's name (or a
    /// partition's checkpoint name).
    pub projection: String,
    /// The event's position in the feed.
    pub position: GlobalPosition,
    /// Its stream.
    pub stream_id: StreamId,
    /// Its version in the stream.
    pub stream_version: u64,
    /// Its type.
    pub event_type: String,
    /// The handler's last error, as text.
    pub error: String,
    /// How many times the handler was tried on it, replays included.
    pub attempts: u32,
    /// When it was parked (or last failed a replay).
    pub parked_at: DateTime<Utc>,
}

impl ParkedEvent {
    /// `event`, parked under `projection` after `attempts` failures, the
    /// last with `error`.
    pub fn new(
        projection: impl Into<String>,
        event: &RecordedEvent,
        error: impl std::fmt::Display,
        attempts: u32,
    ) -> Self {
        Self {
            projection: projection.into(),
            position: event.position,
            stream_id: event.stream_id.clone(),
            stream_version: event.stream_version,
            event_type: event.event_type.clone(),
            error: error.to_string(),
            attempts,
            parked_at: Utc::now(),
        }
    }
}
