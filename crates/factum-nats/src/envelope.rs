//! The envelope of an event as NATS message headers, and back: the body is
//! the payload's bytes unchanged, everything else a header.
//!
//! | header | value |
//! |---|---|
//! | `Nats-Msg-Id` | the event id (JetStream's duplicate detection) |
//! | `Factum-Stream` | the stream id |
//! | `Factum-Stream-Version` | the version in the stream |
//! | `Factum-Position` | the global position, `commit:sequence` |
//! | `Factum-Event-Type` | the event type |
//! | `Factum-Schema-Version` | the payload's schema version |
//! | `Factum-Format` | `json` or `msgpack` |
//! | `Factum-Recorded-At` | the recorded time, RFC 3339 with nanoseconds |
//! | `Factum-Correlation-Id`, `Factum-Causation-Id`, `Factum-Actor` | the metadata's, when set |
//! | `Factum-Metadata` | the custom metadata as a JSON object, when any |
//! | `Factum-Idempotency-Key` | the key, when set |
//! | `Factum-Tags` | the tags as a JSON array, when any |
//!
//! Free text (ids, actor, key) is escaped like subject tokens but keeping
//! every character except `%`, CR and LF, which a header cannot carry.

use async_nats::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};
use factum_core::{GlobalPosition, Metadata, PayloadFormat, RecordedEvent, StreamId, Tag};
use uuid::Uuid;

use crate::error::NatsError;
use crate::escape::{escape, unescape};

/// JetStream's duplicate detection key: the event id.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The stream id.
pub const STREAM: &str = "Factum-Stream";
/// The version in the stream.
pub const STREAM_VERSION: &str = "Factum-Stream-Version";
/// The global position, `commit:sequence`.
pub const POSITION: &str = "Factum-Position";
/// The event type.
pub const EVENT_TYPE: &str = "Factum-Event-Type";
/// The schema version of the payload.
pub const SCHEMA_VERSION: &str = "Factum-Schema-Version";
/// The payload format.
pub const FORMAT: &str = "Factum-Format";
/// The recorded time.
pub const RECORDED_AT: &str = "Factum-Recorded-At";
/// The correlation id.
pub const CORRELATION_ID: &str = "Factum-Correlation-Id";
/// The causation id.
pub const CAUSATION_ID: &str = "Factum-Causation-Id";
/// The actor.
pub const ACTOR: &str = "Factum-Actor";
/// The custom metadata, a JSON object.
pub const METADATA: &str = "Factum-Metadata";
/// The idempotency key.
pub const IDEMPOTENCY_KEY: &str = "Factum-Idempotency-Key";
/// The tags, a JSON array.
pub const TAGS: &str = "Factum-Tags";

/// Free text as a header value.
fn text(value: &str) -> String {
    escape(value, |c| c != '\r' && c != '\n')
}

/// The headers that carry `event`'s envelope.
pub fn headers(event: &RecordedEvent) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID, event.event_id.to_string());
    headers.insert(STREAM, event.stream_id.as_str());
    headers.insert(STREAM_VERSION, event.stream_version.to_string());
    headers.insert(POSITION, event.position.to_string());
    headers.insert(EVENT_TYPE, event.event_type.as_str());
    headers.insert(SCHEMA_VERSION, event.schema_version.to_string());
    headers.insert(FORMAT, event.format.as_str());
    let recorded = event
        .recorded_at
        .to_rfc3339_opts(SecondsFormat::Nanos, true);
    headers.insert(RECORDED_AT, recorded);
    let metadata = &event.metadata;
    for (name, value) in [
        (CORRELATION_ID, &metadata.correlation_id),
        (CAUSATION_ID, &metadata.causation_id),
        (ACTOR, &metadata.actor),
        (IDEMPOTENCY_KEY, &event.idempotency_key),
    ] {
        if let Some(value) = value {
            headers.insert(name, text(value));
        }
    }
    // JSON escapes CR and LF inside strings: each value is one line. (Maps
    // of strings and lists of tags always serialize.)
    if !metadata.custom.is_empty()
        && let Ok(json) = serde_json::to_string(&metadata.custom)
    {
        headers.insert(METADATA, json);
    }
    if !event.tags.is_empty()
        && let Ok(json) = serde_json::to_string(&event.tags)
    {
        headers.insert(TAGS, json);
    }
    headers
}

/// Reads one message's headers.
struct Reader<'a> {
    subject: &'a str,
    headers: &'a HeaderMap,
}

impl Reader<'_> {
    fn optional(&self, name: &'static str) -> Option<&str> {
        self.headers.get(name).map(|v| v.as_str())
    }

    fn required(&self, name: &'static str) -> Result<&str, NatsError> {
        self.optional(name).ok_or_else(|| NatsError::MissingHeader {
            subject: self.subject.to_owned(),
            header: name,
        })
    }

    fn invalid(&self, name: &'static str, value: &str, reason: impl ToString) -> NatsError {
        NatsError::InvalidHeader {
            subject: self.subject.to_owned(),
            header: name,
            value: value.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// A required header read by `parse`.
    fn parsed<T, E: ToString>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, NatsError> {
        let value = self.required(name)?;
        parse(value).map_err(|e| self.invalid(name, value, e))
    }

    /// An optional free-text header.
    fn text(&self, name: &'static str) -> Result<Option<String>, NatsError> {
        self.optional(name)
            .map(|value| unescape(value).ok_or_else(|| self.invalid(name, value, "a bad % escape")))
            .transpose()
    }

    /// An optional JSON header.
    fn json<T: serde::de::DeserializeOwned + Default>(
        &self,
        name: &'static str,
    ) -> Result<T, NatsError> {
        match self.optional(name) {
            None => Ok(T::default()),
            Some(value) => serde_json::from_str(value).map_err(|e| self.invalid(name, value, e)),
        }
    }
}

/// The position in the store of the event a message published by the
/// relay carries (its `Factum-Position` header).
pub(crate) fn position(subject: &str, headers: &HeaderMap) -> Result<GlobalPosition, NatsError> {
    Reader { subject, headers }.parsed(POSITION, str::parse::<GlobalPosition>)
}

/// The event a message published by the relay carries: its `headers`
/// and its body, the `payload` (kept byte for byte). `subject` only names
/// the message in errors.
pub fn event_from_message(
    subject: &str,
    headers: &HeaderMap,
    payload: &[u8],
) -> Result<RecordedEvent, NatsError> {
    let read = Reader { subject, headers };
    let format = read.parsed(FORMAT, |f| {
        PayloadFormat::from_name(f).ok_or("unknown payload format")
    })?;
    Ok(RecordedEvent {
        event_id: read.parsed(MSG_ID, Uuid::parse_str)?,
        stream_id: read.parsed(STREAM, |s| StreamId::new(s))?,
        stream_version: read.parsed(STREAM_VERSION, str::parse::<u64>)?,
        position: read.parsed(POSITION, str::parse::<GlobalPosition>)?,
        event_type: read.required(EVENT_TYPE)?.to_owned(),
        schema_version: read.parsed(SCHEMA_VERSION, str::parse::<u32>)?,
        format,
        payload: payload.to_vec(),
        metadata: Metadata {
            correlation_id: read.text(CORRELATION_ID)?,
            causation_id: read.text(CAUSATION_ID)?,
            actor: read.text(ACTOR)?,
            custom: read.json(METADATA)?,
        },
        idempotency_key: read.text(IDEMPOTENCY_KEY)?,
        tags: read.json::<Vec<Tag>>(TAGS)?,
        recorded_at: read.parsed(RECORDED_AT, |t| {
            DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc))
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use factum_core::EventData;

    pub(crate) fn sample() -> RecordedEvent {
        let metadata = Metadata::default()
            .with_correlation_id("flow-1")
            .with_actor("line one\r\nline two 100%")
            .with_custom("note", "a\nb");
        let data = EventData::new(
            "Order Placed.v2",
            PayloadFormat::MessagePack,
            vec![0, 159, 146, 150],
        )
        .with_metadata(metadata)
        .with_idempotency_key("key\n1")
        .with_tag(Tag::new("order:7").unwrap());
        RecordedEvent::from_data(
            data,
            StreamId::new("order-7").unwrap(),
            4,
            GlobalPosition::from_parts(12, 3),
            Utc::now(),
        )
    }

    #[test]
    fn the_envelope_round_trips_through_headers() {
        let event = sample();
        let headers = headers(&event);
        for (_, values) in headers.iter() {
            for value in values {
                assert!(!value.as_str().contains(['\r', '\n']), "{value:?}");
            }
        }
        let back = event_from_message("s", &headers, &event.payload).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn a_missing_or_bad_header_is_named() {
        let event = sample();
        let mut headers = headers(&event);
        headers.insert(STREAM_VERSION, "seven");
        let err = event_from_message("factum.order.x", &headers, &[]).unwrap_err();
        assert!(err.to_string().contains("Factum-Stream-Version"), "{err}");
        let err = event_from_message("factum.order.x", &HeaderMap::new(), &[]).unwrap_err();
        assert!(matches!(err, NatsError::MissingHeader { .. }), "{err}");
    }
}
