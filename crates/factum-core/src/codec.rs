//! Turning typed events into bytes and back: [`DomainEvent`], [`Codec`], and
//! the two formats [`Json`] and [`MessagePack`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, EventData, PayloadFormat, RecordedEvent, RecordedPayload, Result};

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

    /// Encodes a typed event as [`EventData`] (fresh id, no metadata).
    fn encode<E: DomainEvent>(&self, event: &E) -> Result<EventData> {
        let payload = self.to_bytes(event).map_err(|source| Error::Codec {
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

/// Deserializes bytes written in `format`.
pub(crate) fn from_bytes<T: DeserializeOwned>(
    format: PayloadFormat,
    bytes: &[u8],
) -> Result<T, BoxError> {
    match format {
        PayloadFormat::Json => Ok(serde_json::from_slice(bytes)?),
        #[cfg(feature = "msgpack")]
        PayloadFormat::MessagePack => Ok(rmp_serde::from_slice(bytes)?),
        #[cfg(not(feature = "msgpack"))]
        PayloadFormat::MessagePack => {
            Err("payload is MessagePack, but factum was built without the `msgpack` feature".into())
        }
    }
}

impl RecordedEvent {
    /// Decodes the payload as the typed event `E`, in whatever format it was
    /// written. Fails with [`Error::UnknownEventType`] when the stored type is
    /// not one of `E::EVENT_TYPES`, and with [`Error::Codec`] when the payload
    /// does not fit.
    pub fn decode<E: DomainEvent>(&self) -> Result<E> {
        self.stored().decode()
    }

    pub(crate) fn stored(&self) -> StoredPayload<'_> {
        StoredPayload {
            event_type: &self.event_type,
            schema_version: self.schema_version,
            format: self.format,
            payload: &self.payload,
        }
    }
}

impl RecordedPayload {
    /// Decodes the payload as the typed event `E`, like
    /// [`RecordedEvent::decode`].
    pub fn decode<E: DomainEvent>(&self) -> Result<E> {
        self.stored().decode()
    }

    pub(crate) fn stored(&self) -> StoredPayload<'_> {
        StoredPayload {
            event_type: &self.event_type,
            schema_version: self.schema_version,
            format: self.format,
            payload: &self.payload,
        }
    }
}

/// What decoding needs of a stored event, borrowed from a [`RecordedEvent`]
/// or a [`RecordedPayload`].
#[derive(Clone, Copy)]
pub(crate) struct StoredPayload<'a> {
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: u32,
    pub(crate) format: PayloadFormat,
    pub(crate) payload: &'a [u8],
}

impl StoredPayload<'_> {
    /// Decodes the payload as `E` (see [`RecordedEvent::decode`]).
    pub(crate) fn decode<E: DomainEvent>(self) -> Result<E> {
        if !E::EVENT_TYPES.contains(&self.event_type) {
            return Err(Error::UnknownEventType {
                event_type: self.event_type.to_owned(),
                schema_version: self.schema_version,
                known: E::EVENT_TYPES.join(", "),
            });
        }
        from_bytes(self.format, self.payload).map_err(|source| Error::Codec {
            action: "decode",
            event_type: self.event_type.to_owned(),
            source,
        })
    }
}
