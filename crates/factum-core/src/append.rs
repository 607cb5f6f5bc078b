//! What an append asks for ([`StreamAppend`]), what it reports
//! ([`AppendResult`]), and the checks every backend runs before writing.

use std::collections::HashSet;

use crate::invalid::{
    InvalidAppend, MAX_EVENT_TYPE_BYTES, MAX_EVENTS_PER_APPEND, MAX_IDEMPOTENCY_KEY_BYTES,
};
use crate::{
    Error, EventData, ExpectedVersion, GlobalPosition, MAX_TAGS_PER_EVENT, Metadata, PayloadFormat,
    StreamId,
};

/// The events to append to one stream, with the version the writer expects.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    /// The stream to append to.
    pub stream_id: StreamId,
    /// What the stream's current version must be.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<EventData>,
    /// What a call may do when some of its events are stored already (by
    /// idempotency key) and others are not.
    pub duplicates: Duplicates,
}

impl StreamAppend {
    /// Bundles the three parts; a call that mixes stored and new events is
    /// refused ([`Duplicates::AllOrNone`]).
    pub fn new(stream_id: StreamId, expected: ExpectedVersion, events: Vec<EventData>) -> Self {
        Self {
            stream_id,
            expected,
            events,
            duplicates: Duplicates::AllOrNone,
        }
    }

    /// Whether every event of this append is stored already (by its key,
    /// `is_stored(key)`): then it writes nothing, and its expected version
    /// is not checked.
    pub fn is_all_stored(&self, is_stored: impl Fn(&str) -> bool) -> bool {
        self.events
            .iter()
            .all(|e| e.idempotency_key.as_deref().is_some_and(&is_stored))
    }

    /// Lets the call skip this append's events that are stored already
    /// and write the others ([`Duplicates::SkipEach`]), e.g. to import a
    /// batch some of which got in before.
    pub fn skipping_duplicates(mut self) -> Self {
        self.duplicates = Duplicates::SkipEach;
        self
    }
}

/// What an append call may do when some of its events carry an
/// idempotency key that is stored already and others do not.
///
/// A retry of a call that went through is all duplicates, and reports
/// them; a call in which only some events are stored reuses a key by
/// mistake (the other side of a transfer would be written again), so by
/// default it is refused with [`Error::MixedDuplicates`] and writes
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplicates {
    /// A call whose events are either all stored already (reported as
    /// duplicates) or all new. The default.
    #[default]
    AllOrNone,
    /// Events stored already are reported as duplicates and the others are
    /// written. A call mixes only if every one of its appends allows it.
    SkipEach,
}

/// Whether every event of every append of a call is stored already
/// (`is_stored(key)`): a retry of a call that went through, which writes
/// nothing and checks neither its expected versions nor its condition.
pub fn all_stored(appends: &[StreamAppend], is_stored: impl Fn(&str) -> bool) -> bool {
    appends.iter().all(|a| a.is_all_stored(&is_stored))
}

/// Refuses a call that mixes events stored already (`is_stored(key)`)
/// with new ones, unless every append of the call skips duplicates
/// ([`Duplicates::SkipEach`]). Backends call it with what they found
/// stored, before any version check or write.
pub fn check_duplicates(
    appends: &[StreamAppend],
    is_stored: impl Fn(&str) -> bool,
) -> Result<(), Error> {
    if appends.iter().all(|a| a.duplicates == Duplicates::SkipEach) {
        return Ok(());
    }
    let stored = |e: &EventData| e.idempotency_key.as_deref().is_some_and(&is_stored);
    let events = || {
        appends
            .iter()
            .flat_map(|a| a.events.iter().map(move |e| (a, e)))
    };
    if !events().any(|(_, e)| stored(e)) || events().all(|(_, e)| stored(e)) {
        return Ok(());
    }
    let duplicate_keys = events()
        .filter(|(_, e)| stored(e))
        .filter_map(|(_, e)| e.idempotency_key.clone())
        .collect();
    let mut new_in: Vec<StreamId> = Vec::new();
    for (append, _) in events().filter(|(_, e)| !stored(e)) {
        if !new_in.contains(&append.stream_id) {
            new_in.push(append.stream_id.clone());
        }
    }
    Err(Error::MixedDuplicates {
        duplicate_keys,
        new_in,
    })
}

/// What became of one event of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// The event was written at this version and position.
    Written {
        /// Its version in the stream.
        stream_version: u64,
        /// Its place in the global feed.
        position: GlobalPosition,
    },
    /// An event with the same idempotency key was stored before; nothing was
    /// written. The fields locate the original event.
    Duplicate {
        /// The stream holding the original.
        stream_id: StreamId,
        /// The original's version in that stream.
        stream_version: u64,
        /// The original's place in the global feed.
        position: GlobalPosition,
    },
}

impl EventOutcome {
    /// The position of the written event, or of the original for a duplicate.
    pub fn position(&self) -> GlobalPosition {
        match self {
            Self::Written { position, .. } | Self::Duplicate { position, .. } => *position,
        }
    }

    /// Whether the event was a duplicate.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Duplicate { .. })
    }
}

/// What an append did to one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream appended to.
    pub stream_id: StreamId,
    /// The stream's version after the append (`None` when every event was a
    /// duplicate of one stored elsewhere and the stream still does not exist).
    pub current_version: Option<u64>,
    /// One outcome per event, in the order given.
    pub events: Vec<EventOutcome>,
}

impl AppendResult {
    /// The expectation for the next append that assumes nobody else wrote in
    /// between: `Exact(current)`, or `NoStream`.
    pub fn next_expected_version(&self) -> ExpectedVersion {
        self.current_version
            .map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact)
    }

    /// Positions of the events this append wrote (duplicates left out).
    pub fn written_positions(&self) -> impl Iterator<Item = GlobalPosition> + '_ {
        self.events.iter().filter_map(|outcome| match outcome {
            EventOutcome::Written { position, .. } => Some(*position),
            EventOutcome::Duplicate { .. } => None,
        })
    }

    /// Whether every event was a duplicate (nothing was written).
    pub fn is_duplicate(&self) -> bool {
        self.events.iter().all(EventOutcome::is_duplicate)
    }
}

impl ExpectedVersion {
    /// Returns `Ok` when [`matches`](Self::matches) holds, and otherwise the
    /// [`Error::VersionConflict`] naming the stream and both versions.
    pub fn check(self, stream: &StreamId, actual: Option<u64>) -> Result<(), Error> {
        if self.matches(actual) {
            Ok(())
        } else {
            Err(Error::VersionConflict {
                stream: stream.clone(),
                expected: self,
                actual,
            })
        }
    }
}

/// Checks an append before any backend writes it. Every backend calls this
/// first, so they all refuse the same input with the same error.
pub fn validate_appends(appends: &[StreamAppend]) -> Result<(), Error> {
    if appends.is_empty() {
        return Err(InvalidAppend::NoStreams.into());
    }
    let count: usize = appends.iter().map(|a| a.events.len()).sum();
    if count > MAX_EVENTS_PER_APPEND {
        return Err(InvalidAppend::TooManyEvents { count }.into());
    }
    // Sets only when a call has several streams or keys: single-event
    // appends, the common case, allocate nothing here.
    let mut streams = HashSet::new();
    let mut keys = HashSet::new();
    let several_keys = appends
        .iter()
        .flat_map(|a| &a.events)
        .filter(|e| e.idempotency_key.is_some())
        .nth(1)
        .is_some();
    for append in appends {
        let stream = &append.stream_id;
        if appends.len() > 1 && !streams.insert(stream.as_str()) {
            return Err(InvalidAppend::StreamRepeated {
                stream: stream.clone(),
            }
            .into());
        }
        if append.events.is_empty() {
            return Err(InvalidAppend::NoEvents {
                stream: stream.clone(),
            }
            .into());
        }
        for event in &append.events {
            validate_event(stream, event)?;
            if let Some(key) = &event.idempotency_key
                && several_keys
                && !keys.insert(key.as_str())
            {
                return Err(InvalidAppend::IdempotencyKeyRepeated { key: key.clone() }.into());
            }
        }
    }
    Ok(())
}

fn validate_event(stream: &StreamId, event: &EventData) -> Result<(), InvalidAppend> {
    let type_problem = if event.event_type.is_empty() {
        Some("it is empty")
    } else if event.event_type.len() > MAX_EVENT_TYPE_BYTES {
        Some("it is longer than 255 bytes")
    } else if event.event_type.chars().any(char::is_control) {
        Some("it holds a control character")
    } else {
        None
    };
    if let Some(reason) = type_problem {
        return Err(InvalidAppend::EventType {
            stream: stream.clone(),
            event_type: event.event_type.clone(),
            reason,
        });
    }
    if let Some(key) = &event.idempotency_key {
        let key_problem = if key.is_empty() {
            Some("it is empty")
        } else if key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
            Some("it is longer than 512 bytes")
        } else if key.contains('\0') {
            Some("it holds the NUL character")
        } else {
            None
        };
        if let Some(reason) = key_problem {
            return Err(InvalidAppend::IdempotencyKey {
                stream: stream.clone(),
                key: key.clone(),
                reason,
            });
        }
    }
    check_tags(stream, event)?;
    if let Some(field) = field_with_nul(&event.metadata) {
        return Err(InvalidAppend::Metadata {
            stream: stream.clone(),
            event_type: event.event_type.clone(),
            field,
        });
    }
    if event.format == PayloadFormat::Json {
        check_json(&event.payload).map_err(|reason| InvalidAppend::PayloadNotJson {
            stream: stream.clone(),
            event_type: event.event_type.clone(),
            reason,
        })?;
    }
    Ok(())
}

/// At most [`MAX_TAGS_PER_EVENT`] tags, each once.
fn check_tags(stream: &StreamId, event: &EventData) -> Result<(), InvalidAppend> {
    let tags = &event.tags;
    if tags.len() > MAX_TAGS_PER_EVENT {
        return Err(InvalidAppend::TooManyTags {
            stream: stream.clone(),
            event_type: event.event_type.clone(),
            count: tags.len(),
        });
    }
    let repeated = tags
        .iter()
        .enumerate()
        .find(|(i, t)| tags[..*i].contains(t));
    if let Some((_, tag)) = repeated {
        return Err(InvalidAppend::TagRepeated {
            stream: stream.clone(),
            event_type: event.event_type.clone(),
            tag: tag.clone(),
        });
    }
    Ok(())
}

/// The first metadata field holding NUL, which no backend may store since
/// PostgreSQL cannot (its JSONB refuses `\u0000`).
fn field_with_nul(metadata: &Metadata) -> Option<String> {
    let ids = [
        ("correlation id", &metadata.correlation_id),
        ("causation id", &metadata.causation_id),
        ("actor", &metadata.actor),
    ];
    if let Some((name, _)) = ids
        .iter()
        .find(|(_, value)| value.as_deref().is_some_and(|v| v.contains('\0')))
    {
        return Some((*name).to_owned());
    }
    metadata.custom.iter().find_map(|(key, value)| {
        if key.contains('\0') {
            Some(format!("custom key {key:?}"))
        } else if value.contains('\0') {
            Some(format!("the value of custom key {key:?}"))
        } else {
            None
        }
    })
}

/// Accepts what PostgreSQL's JSONB accepts, so that every backend refuses
/// the same payloads: UTF-8 text (inside strings too) holding valid JSON,
/// with no escaped NUL (`\u0000`) and no lone UTF-16 surrogate escape in
/// any string.
fn check_json(payload: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(payload).map_err(|e| format!("it is not UTF-8: {e}"))?;
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    let escapes = Escapes::of(payload);
    if escapes.nul {
        return Err("it holds the NUL character (\\u0000), which JSONB cannot store".into());
    }
    if escapes.surrogate {
        // Rare: ignored strings are not decoded, so decode them, which
        // refuses a surrogate that is not part of a pair.
        serde_json::from_str::<serde_json::Value>(text).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What the `\u` escapes of valid JSON hold that the check must look at.
#[derive(Debug, Default, PartialEq)]
struct Escapes {
    /// `\u0000`: the NUL character.
    nul: bool,
    /// `\ud800` to `\udfff`: half of a UTF-16 surrogate pair.
    surrogate: bool,
}

impl Escapes {
    /// Walks the escapes of valid JSON, where a backslash only starts an
    /// escape inside a string and the escaped character never starts
    /// another one (so `"C:\\\\u0000"` holds no NUL). Payloads without a
    /// backslash, the most common, cost one scan.
    fn of(json: &[u8]) -> Self {
        let mut found = Self::default();
        let mut next = 0;
        while let Some(offset) = json
            .get(next..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
        {
            let escape = next + offset;
            if json.get(escape + 1) == Some(&b'u') {
                match json.get(escape + 2..escape + 4) {
                    Some(b"00") if json.get(escape + 4..escape + 6) == Some(b"00".as_slice()) => {
                        found.nul = true;
                    }
                    Some([d, half])
                        if d.eq_ignore_ascii_case(&b'd')
                            && matches!(half.to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f') =>
                    {
                        found.surrogate = true;
                    }
                    _ => {}
                }
            }
            next = escape + 2;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_checked_as_jsonb_would_store_it() {
        assert!(check_json(br#"{"a":"b"}"#).is_ok());
        assert!(check_json(br#"{"a":"\u0000"}"#).is_err(), "an escaped NUL");
        assert!(
            check_json(br#"{"\u0000":1}"#).is_err(),
            "an escaped NUL in a key"
        );
        assert!(
            check_json(br#"{"a":"x\\\u0000"}"#).is_err(),
            "a backslash, then a NUL"
        );
        assert!(
            check_json(br#"{"path":"C:\\u0000dir"}"#).is_ok(),
            "a backslash, then u0000"
        );
        assert!(
            check_json(br#"{"a":"\\\\u0000"}"#).is_ok(),
            "two backslashes, then u0000"
        );
        assert!(
            check_json(b"{\"name\":\"Jos\xe9\"}").is_err(),
            "Latin-1 in a string"
        );
        assert!(check_json(b"{not json").is_err());
        assert!(
            check_json(br#"{"a":"\ud800"}"#).is_err(),
            "a lone leading surrogate"
        );
        assert!(
            check_json(br#"{"a":"\uDC00x"}"#).is_err(),
            "a lone trailing surrogate"
        );
        assert!(
            check_json(br#"{"a":"\ud83d\ude00"}"#).is_ok(),
            "a surrogate pair"
        );
        assert!(
            check_json(br#"{"a":"\\ud800"}"#).is_ok(),
            "a backslash, then ud800"
        );
    }
}
