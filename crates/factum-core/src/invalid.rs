//! [`InvalidAppend`]: why an append was refused before anything was
//! written, and the limits it names.

use crate::stream_id::StreamId;
use crate::{MAX_TAGS_PER_EVENT, Tag};

/// Most events one append call may carry, over all its streams.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;
/// Longest event type name, in bytes.
pub const MAX_EVENT_TYPE_BYTES: usize = 255;
/// Longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 512;

/// Why an append was refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAppend {
    /// The call named no stream.
    #[error("the append names no stream")]
    NoStreams,
    /// A stream was given no event.
    #[error("the append to stream {stream} carries no event")]
    NoEvents {
        /// The stream.
        stream: StreamId,
    },
    /// A stream was named twice in one call.
    #[error("stream {stream} is named twice in one append")]
    StreamRepeated {
        /// The stream.
        stream: StreamId,
    },
    /// Two events of one call carry the same idempotency key.
    #[error("idempotency key {key:?} is carried by two events of one append")]
    IdempotencyKeyRepeated {
        /// The key.
        key: String,
    },
    /// Too many events in one call.
    #[error("the append carries {count} events; at most {max} are allowed per call", max = MAX_EVENTS_PER_APPEND)]
    TooManyEvents {
        /// How many were given.
        count: usize,
    },
    /// An event type name is empty, too long or holds control characters.
    #[error("event type {event_type:?} in stream {stream} is invalid: {reason}")]
    EventType {
        /// The stream.
        stream: StreamId,
        /// The rejected name.
        event_type: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An idempotency key is empty, too long or holds the NUL character.
    #[error("idempotency key {key:?} in stream {stream} is invalid: {reason}")]
    IdempotencyKey {
        /// The stream.
        stream: StreamId,
        /// The rejected key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A payload marked JSON is not valid JSON.
    #[error("payload of event {event_type:?} in stream {stream} is not valid JSON: {reason}")]
    PayloadNotJson {
        /// The stream.
        stream: StreamId,
        /// The event type.
        event_type: String,
        /// The parser's message.
        reason: String,
    },
    /// A metadata field (correlation id, causation id, actor, a custom key
    /// or value) holds the NUL character, which PostgreSQL cannot store.
    #[error(
        "metadata of event {event_type:?} in stream {stream} is invalid: {field} holds the NUL character"
    )]
    Metadata {
        /// The stream.
        stream: StreamId,
        /// The event type.
        event_type: String,
        /// Which field, e.g. `"actor"` or `"custom key \"tenant\""`.
        field: String,
    },
    /// An event carries more than [`MAX_TAGS_PER_EVENT`] tags.
    #[error("event {event_type:?} in stream {stream} carries {count} tags; at most {max} are allowed", max = MAX_TAGS_PER_EVENT)]
    TooManyTags {
        /// The stream.
        stream: StreamId,
        /// The event type.
        event_type: String,
        /// How many tags it carries.
        count: usize,
    },
    /// An event carries the same tag twice.
    #[error("event {event_type:?} in stream {stream} carries tag {tag} twice")]
    TagRepeated {
        /// The stream.
        stream: StreamId,
        /// The event type.
        event_type: String,
        /// The repeated tag.
        tag: Tag,
    },
}
