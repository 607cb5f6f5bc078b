//! Events as written ([`EventData`]) and as stored ([`RecordedEvent`]), and
//! the part of a stored event that folding needs ([`RecordedPayload`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::tag::add_tags;
use crate::{GlobalPosition, Metadata, StreamId, Tag};

/// How an event's payload bytes are encoded. Serialized (with serde) as
/// its [`as_str`](Self::as_str) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PayloadFormat {
    /// UTF-8 JSON. PostgreSQL stores it as JSONB, so it stays queryable (and
    /// is handed back re-serialized: same value, not always the same bytes).
    #[serde(rename = "json")]
    Json,
    /// MessagePack with named fields, stored as bytes.
    #[serde(rename = "msgpack")]
    MessagePack,
}

impl PayloadFormat {
    /// A short stable name, for storage and messages: `"json"` or `"msgpack"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::MessagePack => "msgpack",
        }
    }

    /// The format whose [`as_str`](Self::as_str) is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "msgpack" => Some(Self::MessagePack),
            _ => None,
        }
    }
}

/// An event about to be appended.
///
/// Usually built from a typed event by a [`Codec`](crate::Codec); built by
/// hand it looks like this:
///
/// ```
/// use factum_core::{EventData, Metadata};
///
/// let event = EventData::json("Deposited", br#"{"amount":5}"#.to_vec())
///     .with_idempotency_key("deposit-req-17")
///     .with_metadata(Metadata::default().with_actor("teller-3"));
/// assert_eq!(event.schema_version, 1);
/// assert_eq!(event.event_id.get_version_num(), 7); // UUIDv7
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EventData {
    /// Unique id of the event (UUIDv7 unless set otherwise).
    pub event_id: Uuid,
    /// Name of the event type, e.g. `"Deposited"`.
    pub event_type: String,
    /// Version of the payload's shape, starting at 1; upcasters use it.
    pub schema_version: u32,
    /// How [`payload`](Self::payload) is encoded.
    pub format: PayloadFormat,
    /// The encoded event.
    pub payload: Vec<u8>,
    /// Correlation, causation, actor and custom key/values.
    pub metadata: Metadata,
    /// When set, an event with the same key that is already stored makes
    /// this one a duplicate: it is not written again (`docs/design.md`,
    /// guarantee 4).
    pub idempotency_key: Option<String>,
    /// What the event is about beyond its stream (`user:42`), for queries
    /// across streams ([`EventQuery`](crate::EventQuery)); each tag once.
    pub tags: Vec<Tag>,
}

impl EventData {
    /// A new event with a fresh UUIDv7, schema version 1, empty metadata and
    /// no idempotency key.
    pub fn new(event_type: impl Into<String>, format: PayloadFormat, payload: Vec<u8>) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            format,
            payload,
            metadata: Metadata::default(),
            idempotency_key: None,
            tags: Vec::new(),
        }
    }

    /// A new event whose payload is JSON.
    pub fn json(event_type: impl Into<String>, payload: Vec<u8>) -> Self {
        Self::new(event_type, PayloadFormat::Json, payload)
    }

    /// Sets the idempotency key.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Adds `tag` (once: a tag it carries already is not added again).
    pub fn with_tag(mut self, tag: Tag) -> Self {
        add_tags(&mut self.tags, [tag]);
        self
    }

    /// Adds each of `tags` that it does not carry yet.
    pub fn with_tags<I: IntoIterator<Item = Tag>>(mut self, tags: I) -> Self {
        add_tags(&mut self.tags, tags);
        self
    }

    /// Sets the schema version.
    pub fn with_schema_version(mut self, schema_version: u32) -> Self {
        self.schema_version = schema_version;
        self
    }
}

/// An event as stored: what was written plus where and when.
///
/// Serializable with serde, so that transports other than the store (a
/// message bus, a file) can carry it whole: the payload as its bytes, the
/// position as its two parts, the time in RFC 3339. A missing `tags` field
/// reads as none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Unique id of the event.
    pub event_id: Uuid,
    /// The stream the event belongs to.
    pub stream_id: StreamId,
    /// The event's version in its stream: 1 for the first, contiguous.
    pub stream_version: u64,
    /// The event's place in the global feed.
    pub position: GlobalPosition,
    /// Name of the event type.
    pub event_type: String,
    /// Version of the payload's shape.
    pub schema_version: u32,
    /// How [`payload`](Self::payload) is encoded.
    pub format: PayloadFormat,
    /// The encoded event.
    pub payload: Vec<u8>,
    /// Correlation, causation, actor and custom key/values.
    pub metadata: Metadata,
    /// The idempotency key it was written with, if any.
    pub idempotency_key: Option<String>,
    /// The tags it was written with, in the order given.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// When the backend stored it.
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// Makes the stored form of `event`; meant for backends.
    pub fn from_data(
        event: EventData,
        stream_id: StreamId,
        stream_version: u64,
        position: GlobalPosition,
        recorded_at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id: event.event_id,
            stream_id,
            stream_version,
            position,
            event_type: event.event_type,
            schema_version: event.schema_version,
            format: event.format,
            payload: event.payload,
            metadata: event.metadata,
            idempotency_key: event.idempotency_key,
            tags: event.tags,
            recorded_at,
        }
    }
}

/// What folding a stored event into an aggregate needs of it: its version,
/// type, schema version and payload. Read with
/// [`EventReader::read_stream_payloads`](crate::EventReader::read_stream_payloads),
/// which fetches only these columns where a backend can.
///
/// ```
/// use factum_core::{EventData, GlobalPosition, RecordedEvent, RecordedPayload, StreamId};
///
/// let data = EventData::json("Deposited", br#"{"amount":5}"#.to_vec());
/// let stream = StreamId::new("account-1").unwrap();
/// let recorded = RecordedEvent::from_data(data, stream, 1, GlobalPosition::START, chrono::Utc::now());
/// let payload = RecordedPayload::from(recorded);
/// assert_eq!((payload.stream_version, payload.event_type.as_str()), (1, "Deposited"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPayload {
    /// The event's version in its stream.
    pub stream_version: u64,
    /// Name of the event type.
    pub event_type: String,
    /// Version of the payload's shape.
    pub schema_version: u32,
    /// How [`payload`](Self::payload) is encoded.
    pub format: PayloadFormat,
    /// The encoded event.
    pub payload: Vec<u8>,
}

impl From<RecordedEvent> for RecordedPayload {
    fn from(event: RecordedEvent) -> Self {
        Self {
            stream_version: event.stream_version,
            event_type: event.event_type,
            schema_version: event.schema_version,
            format: event.format,
            payload: event.payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tag;

    fn recorded() -> RecordedEvent {
        let data = EventData::new(
            "Shipped",
            PayloadFormat::MessagePack,
            vec![0x81, 0xa1, 0x6e, 0x07],
        )
        .with_idempotency_key("ship-7")
        .with_metadata(Metadata::default().with_actor("clerk"))
        .with_tag(Tag::new("order:7").expect("valid tag"));
        let stream = StreamId::new("order-7").expect("valid id");
        RecordedEvent::from_data(
            data,
            stream,
            3,
            GlobalPosition::from_parts(9, 12),
            Utc::now(),
        )
    }

    #[test]
    fn recorded_events_round_trip_through_serde() {
        let event = recorded();
        let json = serde_json::to_string(&event).expect("serializes");
        assert!(json.contains(r#""format":"msgpack""#), "{json}");
        let back: RecordedEvent = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, event);
        let without_tags = json.replace(r#","tags":["order:7"]"#, "");
        assert_ne!(without_tags, json);
        let untagged: RecordedEvent = serde_json::from_str(&without_tags).expect("tags default");
        assert!(untagged.tags.is_empty());
    }
}
