//! Event schema evolution: [`Upcasters`] rewrite old stored events into
//! today's events (one into one, into several, or into none) before they
//! are decoded or handed to a projection.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::codec::{Source, StoredPayload, from_bytes, to_bytes};
use crate::{BoxError, DomainEvent, RecordedEvent, RecordedPayload, Result};

/// A stored event after an upcaster rewrote it: its (possibly new) type
/// name, schema version and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Upcasted {
    /// The event type after the rewrite (rename an event by changing it).
    pub event_type: String,
    /// The schema version after the rewrite; must be higher than before
    /// unless the type changed.
    pub schema_version: u32,
    /// The payload after the rewrite.
    pub payload: Value,
}

type UpcastFn = dyn Fn(Value) -> Result<Vec<Upcasted>, BoxError> + Send + Sync;

/// A chain of upcasters keyed by (event type, schema version). Reading an
/// event runs every upcaster that matches, one after the other, on each
/// event an upcaster returns, until none matches; the results are then
/// decoded (by the [repository](crate::aggregate::Repository) and
/// [`decode`](Self::decode)) or handed on as today's events (by
/// [`upcast`](Self::upcast), which subscriptions and projection runners
/// given these upcasters use). Stored events are never changed.
///
/// An upcaster sees the payload in its documented shape: an enum event's
/// variant content ([`PayloadShape::Variant`](crate::PayloadShape::Variant)),
/// also for events stored by earlier versions of factum in serde's wrapped
/// form (`{"Paid":{..}}` is handed over as `{..}`, a unit variant's
/// `"Closed"` as `{}`).
///
/// ```
/// use factum_core::{Upcasted, Upcasters};
/// use serde_json::json;
///
/// let upcasters = Upcasters::new()
///     // Version 1 of "Deposited" held cents as `amount`; version 2 calls it `cents`.
///     .register("Deposited", 1, |mut payload| {
///         let cents = payload["amount"].take();
///         Ok(Upcasted { event_type: "Deposited".into(), schema_version: 2, payload: json!({ "cents": cents }) })
///     })
///     // "Moved" became two events.
///     .register_split("Moved", 1, |payload| {
///         Ok(vec![
///             Upcasted { event_type: "Left".into(), schema_version: 1, payload: json!({ "from": payload["from"] }) },
///             Upcasted { event_type: "Arrived".into(), schema_version: 1, payload: json!({ "to": payload["to"] }) },
///         ])
///     })
///     // "Pinged" carried nothing anyone reads.
///     .register_drop("Pinged", 1);
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

/// Most upcaster steps one stored event may take (all its parts
/// together): a guard against a chain that loops.
const MAX_CHAIN: usize = 64;

impl Upcasters {
    /// An empty chain: events decode as stored.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an upcaster that rewrites each event of `event_type` at
    /// `schema_version` into one event.
    pub fn register(
        self,
        event_type: impl Into<String>,
        schema_version: u32,
        upcast: impl Fn(Value) -> Result<Upcasted, BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.register_split(event_type, schema_version, move |payload| {
            upcast(payload).map(|one| vec![one])
        })
    }

    /// Adds an upcaster that rewrites each event of `event_type` at
    /// `schema_version` into any number of events, in order: several (a
    /// split), or none (a drop). The events it returns share the stored
    /// event's stream version and position.
    pub fn register_split(
        mut self,
        event_type: impl Into<String>,
        schema_version: u32,
        upcast: impl Fn(Value) -> Result<Vec<Upcasted>, BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.chain
            .entry(event_type.into())
            .or_default()
            .insert(schema_version, Arc::new(upcast));
        self
    }

    /// Drops every event of `event_type` at `schema_version`: folds,
    /// subscriptions and projections given these upcasters no longer see
    /// them.
    pub fn register_drop(self, event_type: impl Into<String>, schema_version: u32) -> Self {
        self.register_split(event_type, schema_version, |_| Ok(Vec::new()))
    }

    /// Whether no upcaster is registered: events pass as stored.
    pub fn is_empty(&self) -> bool {
        self.chain.is_empty()
    }

    /// Whether an upcaster is registered for this type and version.
    pub fn handles(&self, event_type: &str, schema_version: u32) -> bool {
        self.upcaster(event_type, schema_version).is_some()
    }

    fn upcaster(&self, event_type: &str, schema_version: u32) -> Option<&Arc<UpcastFn>> {
        self.chain.get(event_type)?.get(&schema_version)
    }

    /// Runs the chain on `event` and decodes the result as `E`. Without a
    /// matching upcaster this is [`RecordedEvent::decode`]. An event the
    /// chain splits or drops is an [`Error::Decode`](crate::Error::Decode): use
    /// [`decode_all`](Self::decode_all) where that may happen.
    pub fn decode<E: DomainEvent>(&self, event: &RecordedEvent) -> Result<E> {
        single(event.stored(), self.decode_all(event)?)
    }

    /// Runs the chain on `event` and decodes each event it yields as `E`,
    /// in order (none when it was dropped).
    pub fn decode_all<E: DomainEvent>(&self, event: &RecordedEvent) -> Result<Vec<E>> {
        self.decode_stored(event.stored())
    }

    /// [`decode`](Self::decode) for the lighter [`RecordedPayload`].
    pub fn decode_payload<E: DomainEvent>(&self, event: &RecordedPayload) -> Result<E> {
        single(event.stored(), self.decode_payload_all(event)?)
    }

    /// [`decode_all`](Self::decode_all) for the lighter [`RecordedPayload`].
    pub fn decode_payload_all<E: DomainEvent>(&self, event: &RecordedPayload) -> Result<Vec<E>> {
        self.decode_stored(event.stored())
    }

    /// Today's events of `event`: the event itself (borrowed) when no
    /// upcaster matches, else what the chain made of it, each a copy of the
    /// stored event with the new type, schema version and payload (in the
    /// stored event's format). What subscriptions and projection runners
    /// given these upcasters hand on.
    pub fn upcast<'e>(&self, event: &'e RecordedEvent) -> Result<Cow<'e, [RecordedEvent]>> {
        let stored = event.stored();
        if !self.handles(&event.event_type, event.schema_version) {
            return Ok(Cow::Borrowed(std::slice::from_ref(event)));
        }
        let upcasted = self.run(stored)?;
        upcasted
            .into_iter()
            .map(|today| {
                let payload = to_bytes(event.format, &today.payload)
                    .map_err(|e| stored.error(&today.event_type, today.schema_version, e))?;
                Ok(RecordedEvent {
                    event_type: today.event_type,
                    schema_version: today.schema_version,
                    payload,
                    ..event.clone()
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Cow::Owned)
    }

    fn decode_stored<E: DomainEvent>(&self, stored: StoredPayload<'_>) -> Result<Vec<E>> {
        if !self.handles(stored.event_type, stored.schema_version) {
            return stored.decode().map(|one| vec![one]);
        }
        self.run(stored)?
            .iter()
            .map(|today| {
                stored.decode_from(
                    &today.event_type,
                    today.schema_version,
                    Source::Value(&today.payload),
                )
            })
            .collect()
    }

    /// Runs the chain on a stored event that has an upcaster: every event
    /// an upcaster yields goes through the chain again, in order.
    fn run(&self, stored: StoredPayload<'_>) -> Result<Vec<Upcasted>> {
        let fail = |event_type: &str, schema_version, source| {
            stored.error(event_type, schema_version, source)
        };
        let payload: Value = from_bytes(stored.format, stored.payload)
            .map_err(|e| fail(stored.event_type, stored.schema_version, e))?;
        // Work list, last first: the next event to look at is popped.
        let mut pending = vec![Upcasted {
            payload: documented_shape(stored.event_type, payload),
            event_type: stored.event_type.to_owned(),
            schema_version: stored.schema_version,
        }];
        let mut today = Vec::new();
        let mut steps = 0;
        while let Some(event) = pending.pop() {
            let Some(upcast) = self.upcaster(&event.event_type, event.schema_version) else {
                today.push(event);
                continue;
            };
            steps += 1;
            if steps > MAX_CHAIN {
                let looping = "the upcaster chain is longer than 64 steps; does it loop?";
                return Err(fail(
                    stored.event_type,
                    stored.schema_version,
                    looping.into(),
                ));
            }
            let (before_type, before) = (event.event_type, event.schema_version);
            let upcasted = upcast(event.payload).map_err(|e| {
                let failed = format!("its upcaster from schema version {before} failed: {e}");
                fail(&before_type, before, failed.into())
            })?;
            if let Some(stuck) = upcasted
                .iter()
                .find(|u| u.event_type == before_type && u.schema_version <= before)
            {
                let stuck = format!(
                    "its upcaster from schema version {before} returned schema version {} of the same type",
                    stuck.schema_version
                );
                return Err(fail(&before_type, before, stuck.into()));
            }
            pending.extend(upcasted.into_iter().rev());
        }
        Ok(today)
    }
}

/// The only event of `decoded`, or an error naming how many there were.
fn single<E>(stored: StoredPayload<'_>, mut decoded: Vec<E>) -> Result<E> {
    if decoded.len() == 1
        && let Some(one) = decoded.pop()
    {
        return Ok(one);
    }
    let count = format!(
        "the upcasters turned it into {} events; decode it with `decode_all`",
        decoded.len()
    );
    Err(stored.error(stored.event_type, stored.schema_version, count.into()))
}

/// `payload` in its documented shape: serde's wrapper of an enum variant
/// (`{"Paid":{..}}`, a unit variant as `"Closed"`), as earlier versions of
/// factum stored enum events, taken off. Only a wrapper named exactly like
/// the stored event type is taken off.
fn documented_shape(event_type: &str, payload: Value) -> Value {
    match payload {
        Value::Object(mut map) if map.len() == 1 && map.contains_key(event_type) => {
            map.remove(event_type).unwrap_or(Value::Null)
        }
        Value::String(unit) if unit == event_type => Value::Object(serde_json::Map::new()),
        other => other,
    }
}
