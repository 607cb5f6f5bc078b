//! [`ProjectionError`]: why a runner stopped.

use crate::{BoxError, Error, GlobalPosition};

/// Why a projection stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The handler kept failing on one event; the checkpoint covers the
    /// events before it, not the event itself (with
    /// [`FailurePolicy::Stop`](crate::FailurePolicy::Stop)).
    #[error(
        "projection {projection} stopped at event {position} ({event_type} in stream {stream}) after {attempts} attempts: {source}"
    )]
    Handler {
        /// The projection's name.
        projection: String,
        /// The failing event's position.
        position: GlobalPosition,
        /// Its stream.
        stream: String,
        /// Its type.
        event_type: String,
        /// How many times it was tried.
        attempts: u32,
        /// The handler's last error.
        #[source]
        source: BoxError,
    },
    /// Resetting the read model failed, or the projection has no `reset`
    /// (the source is then [`ResetNotWritten`]) and so cannot be rebuilt.
    #[error("projection {projection} could not reset its read model: {source}")]
    Reset {
        /// The projection's name.
        projection: String,
        /// The error.
        #[source]
        source: BoxError,
    },
    /// The store failed (reading the feed, saving the checkpoint, parking an
    /// event).
    #[error("projection {projection}: {source}")]
    Store {
        /// The projection's name.
        projection: String,
        /// The error.
        #[source]
        source: Error,
    },
}

impl ProjectionError {
    /// Whether the error is a [transient](Error::is_transient) store error,
    /// which runners retry by themselves.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store { source, .. } if source.is_transient())
    }

    /// Whether a rebuild was refused because the projection does not write
    /// its `reset` (see [`ResetNotWritten`]).
    pub fn is_reset_not_written(&self) -> bool {
        matches!(self, Self::Reset { source, .. } if source.is::<ResetNotWritten>())
    }
}

/// What a projection's `reset` returns unless the projection writes its
/// own: without a way to clear the read model, a rebuild would apply every
/// event again on top of it (a silent double count), so rebuilding such a
/// projection fails with [`ProjectionError::Reset`] carrying this error, and
/// the checkpoint stays where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "it does not implement `reset`, so a rebuild would apply every event again on top of its read model; implement `reset` to clear the read model"
)]
pub struct ResetNotWritten;
