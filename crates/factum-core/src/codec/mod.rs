//! Turning typed events into bytes and back: [`DomainEvent`], [`Codec`], the
//! two formats [`Json`] and [`MessagePack`], and the [`PayloadShape`] of an
//! event type.

mod shape;
mod variant_de;
mod variant_ser;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use shape::PayloadShape;
pub(crate) use shape::Source;

use crate::{
    Error, EventData, GlobalPosition, PayloadFormat, RecordedEvent, RecordedPayload, Result,
    StreamId,
};

/// The error a serializer or deserializer reports.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A typed event: a serde type that knows its stored type name and the
/// version of its shape.
///
/// A derive comes with the `macros` feature; by hand it looks like this:
///
/// ```
/// use factum_core::{DomainEvent, Json, Codec};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Deposited { amount: u64 }
///
/// impl DomainEvent for Deposited {
///     const EVENT_TYPES: &'static [&'static str] = &["Deposited"];
///     fn event_type(&self) -> &'static str { "Deposited" }
/// }
///
/// let data = Json.encode(&Deposited { amount: 5 })?;
/// assert_eq!(data.event_type, "Deposited");
/// assert_eq!(data.payload, br#"{"amount":5}"#);
/// # Ok::<(), factum_core::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a DomainEvent",
    note = "derive it with `#[derive(factum::DomainEvent)]` (and serde's Serialize, Deserialize), or implement it by hand"
)]
pub trait DomainEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Every type name values of this Rust type are stored under (one for a
    /// struct, one per variant for an enum). Reading a stored event whose type
    /// is not listed fails with [`Error::UnknownEventType`].
    const EVENT_TYPES: &'static [&'static str];

    /// For each entry of [`EVENT_TYPES`](Self::EVENT_TYPES), in the same
    /// order, the schema version this code writes it in: a stored event of
    /// a higher version (written by newer code) fails to decode with
    /// [`Error::Decode`] whose source is [`SchemaTooNew`], instead of
    /// silently dropping the fields this code does not know. Empty (the
    /// default for hand-written implementations): no check. The derive
    /// fills it in.
    const SCHEMA_VERSIONS: &'static [u32] = &[];

    /// How values are laid out in stored payloads:
    /// [`PayloadShape::Value`] (serde's own form) unless overridden. The
    /// derive stores an enum's variants as their content
    /// ([`PayloadShape::Variant`]).
    const PAYLOAD_SHAPE: PayloadShape = PayloadShape::Value;

    /// The stored type name of this value.
    fn event_type(&self) -> &'static str;

    /// The version of this value's shape; 1 unless overridden.
    fn schema_version(&self) -> u32 {
        1
    }
}

/// Encodes values in one [`PayloadFormat`]. Decoding needs no codec: a stored
/// event says which format it was written in (see [`RecordedEvent::decode`]).
pub trait Codec: Send + Sync {
    /// The format this codec writes.
    fn format(&self) -> PayloadFormat;

    /// Serializes any serde value.
    fn to_bytes<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, BoxError>;

    /// Encodes a typed event as [`EventData`] (fresh id, no metadata), its
    /// payload laid out as `E`'s [`PayloadShape`] says.
    fn encode<E: DomainEvent>(&self, event: &E) -> Result<EventData> {
        let payload = self
            .to_bytes(&shape::Shaped(event))
            .map_err(|source| Error::Codec {
                action: "encode",
                event_type: event.event_type().to_owned(),
                source,
            })?;
        Ok(EventData::new(event.event_type(), self.format(), payload)
            .with_schema_version(event.schema_version()))
    }
}

/// JSON, the default: readable, and queryable as JSONB on PostgreSQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Codec for Json {
    fn format(&self) -> PayloadFormat {
        PayloadFormat::Json
    }

    fn to_bytes<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, BoxError> {
        Ok(serde_json::to_vec(value)?)
    }
}

/// MessagePack with named fields: compact, and still decodes after a field
/// with `#[serde(default)]` is added (unlike positional formats).
#[cfg(feature = "msgpack")]
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagePack;

#[cfg(feature = "msgpack")]
impl Codec for MessagePack {
    fn format(&self) -> PayloadFormat {
        PayloadFormat::MessagePack
    }

    fn to_bytes<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, BoxError> {
        Ok(rmp_serde::to_vec_named(value)?)
    }
}

/// Serializes `value` in `format` (an upcaster's output, stored again in
/// its event's format).
pub(crate) fn to_bytes(
    format: PayloadFormat,
    value: &serde_json::Value,
) -> Result<Vec<u8>, BoxError> {
    match format {
        PayloadFormat::Json => Json.to_bytes(value),
        #[cfg(feature = "msgpack")]
        PayloadFormat::MessagePack => MessagePack.to_bytes(value),
        #[cfg(not(feature = "msgpack"))]
        PayloadFormat::MessagePack => {
            Err("payload is MessagePack, but factum was built without the `msgpack` feature".into())
        }
    }
}

/// Deserializes bytes written in `format`, as serde lays `T` out.
pub(crate) fn from_bytes<T: DeserializeOwned>(
    format: PayloadFormat,
    bytes: &[u8],
) -> Result<T, BoxError> {
    Source::Bytes(format, bytes).plain()
}

impl RecordedEvent {
    /// Decodes the payload as the typed event `E`, in whatever format it was
    /// written and by `E`'s [`PayloadShape`]. Fails with
    /// [`Error::UnknownEventType`] when the stored type is not one of
    /// `E::EVENT_TYPES`, and with [`Error::Decode`] (naming the event type,
    /// stream, version and position) when the payload does not fit.
    pub fn decode<E: DomainEvent>(&self) -> Result<E> {
        self.stored().decode()
    }

    pub(crate) fn stored(&self) -> StoredPayload<'_> {
        StoredPayload {
            stream: Some(&self.stream_id),
            position: Some(self.position),
            ..StoredPayload::new(
                &self.event_type,
                self.schema_version,
                self.format,
                &self.payload,
                self.stream_version,
            )
        }
    }
}

impl RecordedPayload {
    /// Decodes the payload as the typed event `E`, like
    /// [`RecordedEvent::decode`]; its errors name the stream version.
    pub fn decode<E: DomainEvent>(&self) -> Result<E> {
        self.stored().decode()
    }

    pub(crate) fn stored(&self) -> StoredPayload<'_> {
        StoredPayload::new(
            &self.event_type,
            self.schema_version,
            self.format,
            &self.payload,
            self.stream_version,
        )
    }
}

/// What decoding needs of a stored event, borrowed from a [`RecordedEvent`]
/// or a [`RecordedPayload`], and where it is stored, for errors.
#[derive(Clone, Copy)]
pub(crate) struct StoredPayload<'a> {
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: u32,
    pub(crate) format: PayloadFormat,
    pub(crate) payload: &'a [u8],
    pub(crate) stream: Option<&'a StreamId>,
    pub(crate) stream_version: u64,
    pub(crate) position: Option<GlobalPosition>,
}

impl<'a> StoredPayload<'a> {
    /// A stored payload whose stream and position are not known.
    fn new(
        event_type: &'a str,
        schema_version: u32,
        format: PayloadFormat,
        payload: &'a [u8],
        stream_version: u64,
    ) -> Self {
        Self {
            event_type,
            schema_version,
            format,
            payload,
            stream: None,
            stream_version,
            position: None,
        }
    }

    /// Decodes the payload as `E` (see [`RecordedEvent::decode`]), refusing
    /// a schema version newer than `E` knows ([`SchemaTooNew`]). (What an
    /// upcaster returns is this code's own doing, and is not checked.)
    pub(crate) fn decode<E: DomainEvent>(self) -> Result<E> {
        let index = E::EVENT_TYPES
            .iter()
            .position(|known| *known == self.event_type);
        if let Some(&known) = index.and_then(|i| E::SCHEMA_VERSIONS.get(i))
            && self.schema_version > known
        {
            let too_new = SchemaTooNew {
                stored: self.schema_version,
                known,
            };
            return Err(self.error(self.event_type, self.schema_version, too_new.into()));
        }
        self.decode_from(
            self.event_type,
            self.schema_version,
            Source::Bytes(self.format, self.payload),
        )
    }

    /// Decodes `source`, the payload of this event as stored or as an
    /// upcaster rewrote it (then under `event_type` at `schema_version`),
    /// as `E`.
    pub(crate) fn decode_from<E: DomainEvent>(
        self,
        event_type: &str,
        schema_version: u32,
        source: Source<'_>,
    ) -> Result<E> {
        if !E::EVENT_TYPES.contains(&event_type) {
            return Err(Error::UnknownEventType {
                event_type: event_type.to_owned(),
                schema_version,
                known: E::EVENT_TYPES.join(", "),
            });
        }
        source
            .decode(event_type)
            .map_err(|source| self.error(event_type, schema_version, source))
    }

    /// An [`Error::Decode`] of this event, under `event_type` at
    /// `schema_version` (as stored, or as an upcaster left it).
    pub(crate) fn error(self, event_type: &str, schema_version: u32, source: BoxError) -> Error {
        Error::Decode {
            event_type: event_type.to_owned(),
            schema_version,
            stream: self.stream.cloned(),
            stream_version: Some(self.stream_version),
            position: self.position,
            source,
        }
    }
}

/// Why a stored event did not decode: it was written in a schema version
/// newer than the one this code writes (see
/// [`DomainEvent::SCHEMA_VERSIONS`]), by code deployed after this code.
/// Decoding it would silently drop the fields this code does not know.
///
/// ```
/// use factum_core::{DomainEvent, EventData, GlobalPosition, RecordedEvent, SchemaTooNew, StreamId};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Serialize, Deserialize)]
/// struct Deposited { amount: u64 }
///
/// impl DomainEvent for Deposited {
///     const EVENT_TYPES: &'static [&'static str] = &["Deposited"];
///     const SCHEMA_VERSIONS: &'static [u32] = &[1];
///     fn event_type(&self) -> &'static str { "Deposited" }
/// }
///
/// let newer = EventData::json("Deposited", br#"{"amount":5,"currency":"EUR"}"#.to_vec()).with_schema_version(2);
/// let stream = StreamId::new("account-1").unwrap();
/// let stored = RecordedEvent::from_data(newer, stream, 1, GlobalPosition::from_parts(0, 1), chrono::Utc::now());
/// let error = stored.decode::<Deposited>().unwrap_err();
/// assert!(error.to_string().contains("schema version 2 is newer than 1"), "{error}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "schema version {stored} is newer than {known}, the newest this code knows: it was written by newer code (deploy it here too, or roll that back)"
)]
pub struct SchemaTooNew {
    /// The stored event's schema version.
    pub stored: u32,
    /// The newest version this code writes for its type.
    pub known: u32,
}
