//! Appends into the values PostgreSQL binds: one array per column, as the
//! schema's `append_events` function and the fast-path statements take
//! them, and an expected version as one integer code.

use factum_core::backend::{describe_appends, saturating_i64};
use factum_core::{
    AppendCondition, Duplicates, Error, ExpectedVersion, InvalidAppend, PayloadFormat, StreamAppend,
};
use uuid::Uuid;

use crate::error::backend;
use crate::locks::LockKeys;

/// An append as the arrays `append_events` takes.
pub(crate) struct Encoded<'a> {
    pub(crate) streams: Vec<&'a str>,
    pub(crate) expected: Vec<i64>,
    pub(crate) stream_of: Vec<i32>,
    pub(crate) event_ids: Vec<Uuid>,
    pub(crate) event_types: Vec<&'a str>,
    pub(crate) schema_versions: Vec<i64>,
    pub(crate) payload_json: Vec<Option<&'a str>>,
    pub(crate) payload_bytes: Vec<Option<&'a [u8]>>,
    pub(crate) metadata: Vec<String>,
    pub(crate) keys: Option<Vec<Option<&'a str>>>,
    pub(crate) key_count: usize,
    /// Whether every append lets the call mix stored and new events.
    pub(crate) skip_each: bool,
    /// Each event's tags as a JSON array, `None` for none.
    pub(crate) tags: Vec<Option<String>>,
    /// Whether any event carries a tag.
    pub(crate) any_tags: bool,
    /// The advisory locks the append takes ([`LockKeys`]).
    pub(crate) lock_keys: Vec<i64>,
    /// For each of `lock_keys`, whether it is taken exclusively.
    pub(crate) lock_exclusive: Vec<bool>,
    /// Whether the append locks the events table against writers.
    pub(crate) lock_table: bool,
    /// The condition's query as JSON, if the append has a condition.
    pub(crate) condition: Option<String>,
    /// The condition's position, in its two parts.
    pub(crate) after: (i64, i64),
}

/// The expected version as `append_events` and the fast path read it:
/// -1 `Any`, -2 `NoStream`, -3 `StreamExists`, else the exact version.
pub(crate) fn expected_code(expected: ExpectedVersion) -> i64 {
    match expected {
        ExpectedVersion::Any => -1,
        ExpectedVersion::NoStream => -2,
        ExpectedVersion::StreamExists => -3,
        // No stream reaches i64::MAX, so a clamped version still conflicts.
        ExpectedVersion::Exact(version) => saturating_i64(version),
    }
}

impl<'a> Encoded<'a> {
    /// Encodes appends that passed `validate_appends`, whose lock keys
    /// `locks` holds, under `condition`, if any.
    pub(crate) fn new(
        appends: &'a [StreamAppend],
        locks: &LockKeys,
        condition: Option<&AppendCondition>,
    ) -> Result<Self, Error> {
        let count: usize = appends.iter().map(|a| a.events.len()).sum();
        let encoding = |what: &str, e: serde_json::Error| {
            backend(
                format!("encoding {what} of {}", describe_appends(appends)),
                e,
            )
        };
        let mut encoded = Encoded {
            streams: Vec::with_capacity(appends.len()),
            expected: Vec::with_capacity(appends.len()),
            stream_of: Vec::with_capacity(count),
            event_ids: Vec::with_capacity(count),
            event_types: Vec::with_capacity(count),
            schema_versions: Vec::with_capacity(count),
            payload_json: Vec::with_capacity(count),
            payload_bytes: Vec::with_capacity(count),
            metadata: Vec::with_capacity(count),
            keys: None,
            key_count: 0,
            skip_each: appends.iter().all(|a| a.duplicates == Duplicates::SkipEach),
            tags: Vec::with_capacity(count),
            any_tags: false,
            lock_keys: locks.keys(),
            lock_exclusive: locks.exclusive(),
            lock_table: locks.table(),
            condition: condition
                .map(|c| serde_json::to_string(&c.query))
                .transpose()
                .map_err(|e| encoding("the condition", e))?,
            after: condition.map_or((0, 0), |c| {
                let (commit, seq) = c.after.to_parts();
                (saturating_i64(commit), saturating_i64(seq))
            }),
        };
        let mut keys = Vec::with_capacity(count);
        for (index, append) in appends.iter().enumerate() {
            let stream_no = i32::try_from(index + 1).map_err(|_| {
                Error::from(InvalidAppend::TooManyEvents {
                    count: appends.len(),
                })
            })?;
            encoded.streams.push(append.stream_id.as_str());
            encoded.expected.push(expected_code(append.expected));
            for event in &append.events {
                encoded.stream_of.push(stream_no);
                encoded.event_ids.push(event.event_id);
                encoded.event_types.push(&event.event_type);
                encoded
                    .schema_versions
                    .push(i64::from(event.schema_version));
                match event.format {
                    PayloadFormat::Json => {
                        let text = std::str::from_utf8(&event.payload).map_err(|e| {
                            Error::from(InvalidAppend::PayloadNotJson {
                                stream: append.stream_id.clone(),
                                event_type: event.event_type.clone(),
                                reason: e.to_string(),
                            })
                        })?;
                        encoded.payload_json.push(Some(text));
                        encoded.payload_bytes.push(None);
                    }
                    PayloadFormat::MessagePack => {
                        encoded.payload_json.push(None);
                        encoded.payload_bytes.push(Some(&event.payload));
                    }
                }
                let metadata = event.metadata.to_json().map_err(|e| {
                    backend(
                        format!(
                            "encoding the metadata of an event for stream {}",
                            append.stream_id
                        ),
                        e,
                    )
                })?;
                encoded.metadata.push(metadata);
                keys.push(event.idempotency_key.as_deref());
                let tags = (!event.tags.is_empty())
                    .then(|| serde_json::to_string(&event.tags))
                    .transpose()
                    .map_err(|e| encoding("the tags", e))?;
                encoded.any_tags |= tags.is_some();
                encoded.tags.push(tags);
            }
        }
        encoded.key_count = keys.iter().flatten().count();
        if encoded.key_count > 0 {
            encoded.keys = Some(keys);
        }
        Ok(encoded)
    }

    /// Binds the six per-event arrays (ids, types, schema versions, JSON
    /// payloads, binary payloads, metadata), in that order, as both
    /// `append_events` and `append_one.sql` take them.
    pub(crate) fn bind_events<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.event_ids)
            .bind(&self.event_types)
            .bind(&self.schema_versions)
            .bind(&self.payload_json)
            .bind(&self.payload_bytes)
            .bind(&self.metadata)
    }
}

/// A statement being bound.
pub(crate) type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

#[cfg(test)]
mod tests {
    use super::*;
    use factum_core::{EventData, StreamId};

    #[test]
    fn keys_are_sent_only_when_some_event_has_one() {
        let event = EventData::json("E", b"{}".to_vec());
        let stream = StreamId::new("a").unwrap();
        let plain = [StreamAppend::new(stream, ExpectedVersion::Any, vec![event])];
        let locks = LockKeys::default();
        assert!(Encoded::new(&plain, &locks, None).unwrap().keys.is_none());
        let mut keyed = plain.clone();
        keyed[0].events[0].idempotency_key = Some("k".into());
        let encoded = Encoded::new(&keyed, &locks, None).unwrap();
        assert_eq!(encoded.keys, Some(vec![Some("k")]));
        assert_eq!(encoded.key_count, 1);
    }
}
