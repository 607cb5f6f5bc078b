//! Event schema evolution: [`Upcasters`] rewrite old stored events into the
//! current shape before they are decoded.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::codec::{Source, StoredPayload, from_bytes};
use crate::{BoxError, DomainEvent, Error, RecordedEvent, RecordedPayload, Result};

/// A stored event after an upcaster rewrote it: its (possibly new) type
/// name, schema version and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Upcasted {
    /// The event type after the rewrite (rename an event by changing it).
    pub event_type: String,
    /// The schema version after the rewrite; must be higher than before.
    pub schema_version: u32,
    /// The payload after the rewrite.
    pub payload: Value,
}

type UpcastFn = dyn Fn(Value) -> Result<Upcasted, BoxError> + Send + Sync;

/// A chain of upcasters keyed by (event type, schema version). Reading an
/// event runs every upcaster that matches, one after the other, until none
/// does; the result is then decoded. Stored events are never changed.
///
/// ```
/// use factum_core::{Upcasted, Upcasters};
/// use serde_json::json;
///
/// // Version 1 of "Deposited" held cents as `amount`; version 2 calls it `cents`.
/// let upcasters = Upcasters::new().register("Deposited", 1, |mut payload| {
///     let cents = payload["amount"].take();
///     Ok(Upcasted { event_type: "Deposited".into(), schema_version: 2, payload: json!({ "cents": cents }) })
/// });
/// assert!(upcasters.handles("Deposited", 1));
/// assert!(!upcasters.handles("Deposited", 2));
/// ```
#[derive(Clone, Default)]
pub struct Upcasters {
    /// By event type, then by the schema version they upcast from: a
    /// look-up by `&str` needs no allocation.
    chain: HashMap<String, HashMap<u32, Arc<UpcastFn>>>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.chain.iter().flat_map(|(event_type, versions)| {
            versions.keys().map(move |version| (event_type, version))
        });
        f.debug_set().entries(keys).finish()
    }
}

/// Most upcasters one event may pass through: a guard against a chain that
/// loops.
const MAX_CHAIN: usize = 64;

impl Upcasters {
    /// An empty chain: events decode as stored.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an upcaster for events of `event_type` at `schema_version`.
    pub fn register(
        mut self,
        event_type: impl Into<String>,
        schema_version: u32,
        upcast: impl Fn(Value) -> Result<Upcasted, BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.chain
            .entry(event_type.into())
            .or_default()
            .insert(schema_version, Arc::new(upcast));
        self
    }

    /// Whether an upcaster is registered for this type and version.
    pub fn handles(&self, event_type: &str, schema_version: u32) -> bool {
        self.upcaster(event_type, schema_version).is_some()
    }

    fn upcaster(&self, event_type: &str, schema_version: u32) -> Option<&Arc<UpcastFn>> {
        self.chain.get(event_type)?.get(&schema_version)
    }

    /// Runs the chain on `event` and decodes the result as `E`. Without a
    /// matching upcaster this is [`RecordedEvent::decode`].
    pub fn decode<E: DomainEvent>(&self, event: &RecordedEvent) -> Result<E> {
        self.decode_stored(event.stored())
    }

    /// [`decode`](Self::decode) for the lighter [`RecordedPayload`].
    pub fn decode_payload<E: DomainEvent>(&self, event: &RecordedPayload) -> Result<E> {
        self.decode_stored(event.stored())
    }

    fn decode_stored<E: DomainEvent>(&self, stored: StoredPayload<'_>) -> Result<E> {
        let StoredPayload {
            event_type,
            schema_version,
            format,
            payload,
            ..
        } = stored;
        if !self.handles(event_type, schema_version) {
            return stored.decode();
        }
        let codec_error = |event_type: &str, source: BoxError| Error::Codec {
            action: "upcast",
            event_type: event_type.to_owned(),
            source,
        };
        let mut current = Upcasted {
            event_type: event_type.to_owned(),
            schema_version,
            payload: from_bytes(format, payload).map_err(|e| codec_error(event_type, e))?,
        };
        for _ in 0..MAX_CHAIN {
            let Some(upcast) = self.upcaster(&current.event_type, current.schema_version) else {
                return stored.decode_from(
                    &current.event_type,
                    current.schema_version,
                    Source::Value(&current.payload),
                );
            };
            let (before_type, before) = (current.event_type, current.schema_version);
            current = upcast(current.payload).map_err(|e| codec_error(&before_type, e))?;
            if current.schema_version <= before && current.event_type == before_type {
                return Err(codec_error(
                    &before_type,
                    format!("upcaster from schema version {before} did not raise the version")
                        .into(),
                ));
            }
        }
        Err(codec_error(
            event_type,
            "the upcaster chain is longer than 64 steps; does it loop?".into(),
        ))
    }
}
