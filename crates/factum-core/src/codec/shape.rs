//! [`PayloadShape`]: how a typed event's value maps to its stored payload,
//! and the encoding and decoding that follow from it.

use std::marker::PhantomData;

use serde::de::DeserializeSeed;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::variant_de::VariantSeed;
use super::variant_ser::VariantContent;
use crate::{BoxError, DomainEvent, PayloadFormat};

/// How the values of a [`DomainEvent`] type are laid out in stored
/// payloads.
///
/// `#[derive(DomainEvent)]` picks [`Variant`](Self::Variant) for an enum
/// in serde's default (externally tagged) representation, and
/// [`Value`](Self::Value) for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadShape {
    /// The whole value, as serde writes it. The default: structs, enums
    /// with `#[serde(tag = ..)]` or `#[serde(untagged)]`, and hand-written
    /// implementations that do not choose otherwise.
    Value,
    /// An enum stored as the content of its variant, the variant being
    /// named by the stored event type alone: a struct variant as its
    /// fields (`{"amount":5}`), a unit variant as `{}`, a newtype variant
    /// as its inner value, a tuple variant as the array of its fields.
    /// SQL reads a field as `$.amount`, and a payload written by hand in
    /// this shape decodes.
    ///
    /// Payloads written by earlier versions in serde's externally tagged
    /// form (`{"Paid":{"amount":5}}`, a unit variant as `"Closed"`) still
    /// decode: a payload that decodes in that form to the variant of its
    /// stored event type is taken as such.
    Variant {
        /// For each entry of [`DomainEvent::EVENT_TYPES`], in the same
        /// order, the index of its variant among the variants serde
        /// deserializes (the enum's variants in declaration order, without
        /// those marked `#[serde(skip)]` or `#[serde(skip_deserializing)]`,
        /// which have `None`).
        indexes: &'static [Option<u32>],
    },
}

/// The payload of `event`, laid out as its type's [`PayloadShape`] says.
pub(crate) struct Shaped<'a, E>(pub(crate) &'a E);

impl<E: DomainEvent> Serialize for Shaped<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match E::PAYLOAD_SHAPE {
            PayloadShape::Value => self.0.serialize(serializer),
            PayloadShape::Variant { .. } => VariantContent(self.0).serialize(serializer),
        }
    }
}

/// A stored payload to decode: bytes in their format, or a JSON value (an
/// upcaster's output).
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// Bytes as stored.
    Bytes(PayloadFormat, &'a [u8]),
    /// A JSON value.
    Value(&'a Value),
}

impl<'a> Source<'a> {
    /// Deserializes the payload with `seed`, in its format.
    fn deserialize<T, S>(self, seed: S) -> Result<T, BoxError>
    where
        S: DeserializeSeed<'a, Value = T>,
    {
        match self {
            Self::Bytes(PayloadFormat::Json, bytes) => {
                let mut deserializer = serde_json::Deserializer::from_slice(bytes);
                let value = seed.deserialize(&mut deserializer)?;
                deserializer.end()?;
                Ok(value)
            }
            #[cfg(feature = "msgpack")]
            Self::Bytes(PayloadFormat::MessagePack, bytes) => {
                let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
                Ok(seed.deserialize(&mut deserializer)?)
            }
            #[cfg(not(feature = "msgpack"))]
            Self::Bytes(PayloadFormat::MessagePack, _) => Err(
                "payload is MessagePack, but factum was built without the `msgpack` feature".into(),
            ),
            Self::Value(value) => Ok(seed.deserialize(value)?),
        }
    }

    /// Deserializes the payload as `T`, as serde lays `T` out.
    pub(crate) fn plain<T: Deserialize<'a>>(self) -> Result<T, BoxError> {
        self.deserialize(PhantomData::<T>)
    }

    /// Decodes the payload of an event stored as `event_type` (one of
    /// `E::EVENT_TYPES`) as `E`, by `E`'s [`PayloadShape`].
    pub(crate) fn decode<E: DomainEvent>(self, event_type: &str) -> Result<E, BoxError> {
        let PayloadShape::Variant { indexes } = E::PAYLOAD_SHAPE else {
            return self
                .plain()
                .or_else(|error| self.wrapped(event_type, error));
        };
        let index = E::EVENT_TYPES
            .iter()
            .position(|known| *known == event_type)
            .and_then(|at| indexes.get(at).copied());
        let Some(index) = index else {
            return Err(format!(
                "the type's PayloadShape::Variant lists {} variant indexes for {} event types",
                indexes.len(),
                E::EVENT_TYPES.len()
            )
            .into());
        };
        let Some(index) = index else {
            return Err("its variant is not deserialized (`#[serde(skip)]`)".into());
        };
        // Written by an earlier version in serde's own form?
        if let Ok(old) = self.plain::<E>()
            && old.event_type() == event_type
        {
            return Ok(old);
        }
        self.deserialize(VariantSeed {
            index,
            event: PhantomData,
        })
    }

    /// A serde-shaped enum `E` ([`PayloadShape::Value`]) from a payload in
    /// its variant's content alone, as upcasters hand payloads over: the
    /// payload wrapped in serde's form for the variant named `event_type`
    /// (a unit variant's `{}` as its name), or `error`, the plain decode's,
    /// when that does not decode either.
    fn wrapped<E: DomainEvent>(self, event_type: &str, error: BoxError) -> Result<E, BoxError> {
        if E::EVENT_TYPES.len() < 2 {
            return Err(error);
        }
        let Ok(content) = self.plain::<Value>() else {
            return Err(error);
        };
        let wrapped = match content {
            Value::Object(map) if map.is_empty() => Value::String(event_type.to_owned()),
            content => Value::Object(serde_json::Map::from_iter([(
                event_type.to_owned(),
                content,
            )])),
        };
        match serde_json::from_value::<E>(wrapped) {
            Ok(event) if event.event_type() == event_type => Ok(event),
            _ => Err(error),
        }
    }
}
