//! Appends into the values SQLite binds: payloads by storage class, the
//! JSON arrays of stream ids and keys, each event's metadata as JSON, and
//! an expected version as two integers.

use factum_core::backend::saturating_i64;
use factum_core::{AppendCondition, ExpectedVersion, PayloadFormat, StreamAppend};

/// An encoded payload or state, as bound: JSON as TEXT (so SQLite's JSON
/// functions can query it), everything else as a BLOB.
pub(crate) enum Encoded<'a> {
    /// UTF-8 JSON text.
    Text(&'a str),
    /// Raw bytes.
    Blob(&'a [u8]),
}

impl<'a> Encoded<'a> {
    /// Chooses the storage class of `bytes` written in `format`.
    pub(crate) fn of(format: PayloadFormat, bytes: &'a [u8]) -> Self {
        match format {
            PayloadFormat::Json => std::str::from_utf8(bytes).map_or(Self::Blob(bytes), Self::Text),
            PayloadFormat::MessagePack => Self::Blob(bytes),
        }
    }

    /// Binds the value as the next argument of `query`.
    pub(crate) fn bind<'q>(self, query: Query<'q>) -> Query<'q> {
        match self {
            Self::Text(text) => query.bind(text.to_owned()),
            Self::Blob(bytes) => query.bind(bytes.to_vec()),
        }
    }
}

/// A query being bound.
pub(crate) type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// What an append needs besides its events, computed once for all attempts.
pub(crate) struct Prepared {
    /// The stream ids as a JSON array, in the order given.
    pub(crate) streams: String,
    /// The idempotency keys as a JSON array, when any event has one.
    pub(crate) keys: Option<String>,
    /// Each event's metadata as JSON, per stream.
    pub(crate) metadata: Vec<Vec<String>>,
    /// Each event's tags as a JSON array (`None` for none), per stream.
    pub(crate) tags: Vec<Vec<Option<String>>>,
    /// Whether any event carries a tag.
    pub(crate) any_tags: bool,
    /// The append's condition: its query as JSON and the sequence after
    /// which no matching event may be stored.
    pub(crate) condition: Option<Condition>,
}

/// An [`AppendCondition`] as `condition_conflict.sql` binds it.
pub(crate) struct Condition {
    /// The query's items as JSON.
    pub(crate) query: String,
    /// The position's sequence part; `None` for a position with a commit
    /// part, which comes from no SQLite store and lies after every event.
    pub(crate) after: Option<i64>,
    /// The condition itself, for the error.
    pub(crate) condition: AppendCondition,
}

impl Prepared {
    pub(crate) fn new(
        appends: &[StreamAppend],
        condition: Option<&AppendCondition>,
    ) -> Result<Self, serde_json::Error> {
        let streams: Vec<&str> = appends.iter().map(|a| a.stream_id.as_str()).collect();
        let keys: Vec<&str> = appends
            .iter()
            .flat_map(|a| &a.events)
            .filter_map(|e| e.idempotency_key.as_deref())
            .collect();
        let metadata = appends
            .iter()
            .map(|a| {
                a.events
                    .iter()
                    .map(|e| e.metadata.to_json())
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tags = appends
            .iter()
            .map(|a| {
                a.events
                    .iter()
                    .map(|e| {
                        (!e.tags.is_empty())
                            .then(|| serde_json::to_string(&e.tags))
                            .transpose()
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let any_tags = tags.iter().flatten().any(Option::is_some);
        let condition = condition
            .map(|c| {
                let after = match c.after.to_parts() {
                    (0, sequence) => Some(saturating_i64(sequence)),
                    _ => None,
                };
                serde_json::to_string(&c.query).map(|query| Condition {
                    query,
                    after,
                    condition: c.clone(),
                })
            })
            .transpose()?;
        Ok(Self {
            condition,
            tags,
            any_tags,
            streams: serde_json::to_string(&streams)?,
            keys: if keys.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&keys)?)
            },
            metadata,
        })
    }
}

/// The expectation as `append_one.sql`'s `?2` and `?3`.
pub(crate) fn expectation(expected: ExpectedVersion) -> (i64, i64) {
    match expected {
        ExpectedVersion::Any => (0, 0),
        ExpectedVersion::NoStream => (1, 0),
        ExpectedVersion::StreamExists => (2, 0),
        ExpectedVersion::Exact(version) => (3, saturating_i64(version)),
    }
}
