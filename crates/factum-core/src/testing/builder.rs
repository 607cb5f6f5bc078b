//! [`RecordedEventBuilder`]: a stored event made by hand, with defaults for
//! everything a test does not care about.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    Codec, DomainEvent, EventData, GlobalPosition, Json, Metadata, PayloadFormat, RecordedEvent,
    StreamId,
};

/// Builds a [`RecordedEvent`] as a store would have stored it, for tests of
/// projections, upcasters and anything else that consumes stored events.
/// Start with [`RecordedEvent::builder`].
///
/// Defaults: stream `test-1`, stream version 1, a position of commit 0 and
/// the stream version as sequence (so events built with growing versions
/// get growing positions), event type `TestEvent`, schema version 1, the
/// JSON payload `{}`, empty metadata, no idempotency key, a fresh UUIDv7 and
/// recorded now.
///
/// ```
/// use factum_core::{DomainEvent, GlobalPosition, RecordedEvent};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Deposited { amount: u64 }
/// impl DomainEvent for Deposited {
///     const EVENT_TYPES: &'static [&'static str] = &["Deposited"];
///     fn event_type(&self) -> &'static str { "Deposited" }
/// }
///
/// let event = RecordedEvent::builder()
///     .with_stream_id("account-7")
///     .with_stream_version(3)
///     .with_event(&Deposited { amount: 5 })
///     .build();
/// assert_eq!(event.event_type, "Deposited");
/// assert_eq!(event.position, GlobalPosition::from_parts(0, 3));
/// assert_eq!(event.decode::<Deposited>()?, Deposited { amount: 5 });
/// # Ok::<(), factum_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordedEventBuilder {
    data: EventData,
    stream_id: StreamId,
    stream_version: u64,
    position: Option<GlobalPosition>,
    recorded_at: Option<DateTime<Utc>>,
}

impl Default for RecordedEventBuilder {
    fn default() -> Self {
        Self {
            data: EventData::json("TestEvent", b"{}".to_vec()),
            stream_id: StreamId::new("test-1").expect("\"test-1\" is a valid stream id"),
            stream_version: 1,
            position: None,
            recorded_at: None,
        }
    }
}

impl RecordedEvent {
    /// A [`RecordedEventBuilder`] with its defaults: test support, see
    /// [`testing`](crate::testing).
    pub fn builder() -> RecordedEventBuilder {
        RecordedEventBuilder::default()
    }
}

impl RecordedEventBuilder {
    /// The stream the event belongs to.
    ///
    /// # Panics
    ///
    /// When `stream_id` is not a valid [`StreamId`] (the message says why).
    #[track_caller]
    pub fn with_stream_id(mut self, stream_id: impl AsRef<str>) -> Self {
        self.stream_id = StreamId::new(stream_id).unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// The event's version in its stream.
    pub fn with_stream_version(mut self, version: u64) -> Self {
        self.stream_version = version;
        self
    }

    /// The event's place in the global feed (by default commit 0 and the
    /// stream version as sequence).
    pub fn with_position(mut self, position: GlobalPosition) -> Self {
        self.position = Some(position);
        self
    }

    /// The event type's name.
    pub fn with_event_type(mut self, event_type: impl Into<String>) -> Self {
        self.data.event_type = event_type.into();
        self
    }

    /// The event type, schema version and JSON payload of `event`, encoded
    /// as the [`Json`] codec stores it.
    ///
    /// # Panics
    ///
    /// When `event` does not encode (the message names its type).
    #[track_caller]
    pub fn with_event<E: DomainEvent>(mut self, event: &E) -> Self {
        let encoded = Json.encode(event).unwrap_or_else(|e| panic!("{e}"));
        self.data.event_type = encoded.event_type;
        self.data.schema_version = encoded.schema_version;
        self.data.format = encoded.format;
        self.data.payload = encoded.payload;
        self
    }

    /// A JSON payload: `value` serialized (a `serde_json::Value`, or any
    /// serde type).
    ///
    /// # Panics
    ///
    /// When `value` does not serialize to JSON.
    #[track_caller]
    pub fn with_json_payload(mut self, value: impl Serialize) -> Self {
        let payload = serde_json::to_vec(&value)
            .unwrap_or_else(|e| panic!("the payload does not serialize to JSON: {e}"));
        self.data.format = PayloadFormat::Json;
        self.data.payload = payload;
        self
    }

    /// A payload of bytes already encoded in `format`.
    pub fn with_payload(mut self, format: PayloadFormat, payload: Vec<u8>) -> Self {
        self.data.format = format;
        self.data.payload = payload;
        self
    }

    /// The version of the payload's shape.
    pub fn with_schema_version(mut self, schema_version: u32) -> Self {
        self.data.schema_version = schema_version;
        self
    }

    /// Correlation, causation, actor and custom key/values.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.data.metadata = metadata;
        self
    }

    /// The idempotency key it was written with.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.data.idempotency_key = Some(key.into());
        self
    }

    /// The event's id (by default a fresh UUIDv7).
    pub fn with_event_id(mut self, event_id: Uuid) -> Self {
        self.data.event_id = event_id;
        self
    }

    /// When it was stored (by default when [`build`](Self::build) runs).
    pub fn with_recorded_at(mut self, recorded_at: DateTime<Utc>) -> Self {
        self.recorded_at = Some(recorded_at);
        self
    }

    /// The stored event.
    pub fn build(self) -> RecordedEvent {
        let position = self
            .position
            .unwrap_or(GlobalPosition::from_parts(0, self.stream_version));
        RecordedEvent::from_data(
            self.data,
            self.stream_id,
            self.stream_version,
            position,
            self.recorded_at.unwrap_or_else(Utc::now),
        )
    }
}
