//! Appending: one call of the schema's `append_events` function per append,
//! retried when a concurrent append stored one of its idempotency keys first.

use factum_core::{
    AppendResult, Error, EventOutcome, ExpectedVersion, InvalidAppend, PayloadFormat, StreamAppend,
    StreamId,
};
use sqlx::postgres::{PgDatabaseError, PgRow};
use sqlx::{Acquire, PgConnection, Row};
use uuid::Uuid;

use crate::error::{backend, clamp_i64, unsigned};
use crate::sql::statement;
use crate::store::PostgresStore;
use crate::xid8::Xid8;

/// SQLSTATE raised by `append_events` on a version conflict.
const CONFLICT: &str = "FX409";
/// SQLSTATE raised by `append_events` when a key was stored concurrently.
const RETRY: &str = "FX40R";
/// SQLSTATE of a unique violation.
const UNIQUE_VIOLATION: &str = "23505";
/// The unique index on idempotency keys.
const KEY_INDEX: &str = "events_idempotency_key_idx";
/// The primary key (stream_id, stream_version).
const VERSION_INDEX: &str = "events_pkey";
/// Retries allowed for appends that lose races on a stream's next version
/// to concurrent appends (each lost race means another append went through).
const CONTENTION_RETRIES: usize = 1_000;
/// The same inside the caller's transaction, where a retry helps only under
/// READ COMMITTED (a new snapshot per statement): kept small so that a lost
/// race under REPEATABLE READ fails fast.
const CONTENTION_RETRIES_IN_TRANSACTION: usize = 16;

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
}

pub(crate) fn expected_code(expected: ExpectedVersion) -> i64 {
    match expected {
        ExpectedVersion::Any => -1,
        ExpectedVersion::NoStream => -2,
        ExpectedVersion::StreamExists => -3,
        // No stream reaches i64::MAX, so a clamped version still conflicts.
        ExpectedVersion::Exact(version) => clamp_i64(version),
    }
}

impl<'a> Encoded<'a> {
    /// Encodes appends that passed `validate_appends`.
    pub(crate) fn new(appends: &'a [StreamAppend]) -> Result<Self, Error> {
        let count: usize = appends.iter().map(|a| a.events.len()).sum();
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
            }
        }
        encoded.key_count = keys.iter().flatten().count();
        if encoded.key_count > 0 {
            encoded.keys = Some(keys);
        }
        Ok(encoded)
    }

    /// How often to try before giving up: every retry means that a
    /// concurrent append stored one of this append's keys, or the next
    /// version of one of its streams, first.
    fn attempts(&self) -> usize {
        self.key_count + CONTENTION_RETRIES
    }
}

/// What a failed call means.
pub(crate) enum Failure {
    /// A concurrent append stored a key first: try again.
    Retry,
    /// The call failed for good.
    Fatal(Error),
}

pub(crate) fn classify(err: sqlx::Error, appends: &[StreamAppend]) -> Failure {
    if let Some(db) = err
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<PgDatabaseError>())
    {
        match db.code() {
            RETRY => return Failure::Retry,
            UNIQUE_VIOLATION
                if matches!(db.constraint(), Some(KEY_INDEX) | Some(VERSION_INDEX)) =>
            {
                return Failure::Retry;
            }
            CONFLICT => {
                if let Some(conflict) = conflict_error(db.detail(), appends) {
                    return Failure::Fatal(conflict);
                }
            }
            _ => {}
        }
    }
    Failure::Fatal(backend(describe(appends), err))
}

/// Builds the `VersionConflict` from the DETAIL `"<stream index>:<actual>"`.
fn conflict_error(detail: Option<&str>, appends: &[StreamAppend]) -> Option<Error> {
    let (index, actual) = detail?.split_once(':')?;
    let append = appends.get(index.parse::<usize>().ok()?.checked_sub(1)?)?;
    let actual = match actual {
        "" => None,
        version => Some(version.parse::<u64>().ok()?),
    };
    Some(Error::VersionConflict {
        stream: append.stream_id.clone(),
        expected: append.expected,
        actual,
    })
}

pub(crate) fn describe(appends: &[StreamAppend]) -> String {
    let names: Vec<&str> = appends.iter().map(|a| a.stream_id.as_str()).collect();
    match names.as_slice() {
        [one] => format!("appending to stream {one}"),
        many => format!("appending to streams {}", many.join(", ")),
    }
}

/// One row of `append_events`' result.
struct OutcomeRow {
    duplicate: bool,
    original_stream: Option<String>,
    stream_version: i64,
    commit_id: i64,
    seq: i64,
    current_version: Option<i64>,
}

fn outcome_row(row: &PgRow) -> Result<OutcomeRow, sqlx::Error> {
    Ok(OutcomeRow {
        duplicate: row.try_get(1)?,
        original_stream: row.try_get(2)?,
        stream_version: row.try_get(3)?,
        commit_id: row.try_get(4)?,
        seq: row.try_get(5)?,
        current_version: row.try_get(6)?,
    })
}

/// Turns the function's rows (one per event, in order) into one result per
/// stream.
fn results(appends: &[StreamAppend], rows: &[PgRow]) -> Result<Vec<AppendResult>, Error> {
    let decode =
        |e: sqlx::Error| backend(format!("decoding the result of {}", describe(appends)), e);
    let mut rows = rows.iter();
    let mut results = Vec::with_capacity(appends.len());
    for append in appends {
        let mut events = Vec::with_capacity(append.events.len());
        let mut current_version = None;
        for _ in &append.events {
            let row = rows
                .next()
                .ok_or_else(|| decode(sqlx::Error::RowNotFound))?;
            let row = outcome_row(row).map_err(decode)?;
            current_version = row.current_version;
            let stream_version = unsigned(row.stream_version, "a stream version")?;
            // `append_events` returns the transaction id as a bigint.
            let position = Xid8(unsigned(row.commit_id, "a transaction id")?).position(row.seq)?;
            events.push(if row.duplicate {
                let name = row.original_stream.unwrap_or_default();
                let stream_id = StreamId::new(name).map_err(|e| {
                    backend(format!("decoding the result of {}", describe(appends)), e)
                })?;
                EventOutcome::Duplicate {
                    stream_id,
                    stream_version,
                    position,
                }
            } else {
                EventOutcome::Written {
                    stream_version,
                    position,
                }
            });
        }
        results.push(AppendResult {
            stream_id: append.stream_id.clone(),
            current_version: current_version
                .map(|v| unsigned(v, "a stream version"))
                .transpose()?,
            events,
        });
    }
    Ok(results)
}

impl PostgresStore {
    /// Calls `append_events` once on `conn`.
    async fn call_append(
        &self,
        conn: &mut PgConnection,
        encoded: &Encoded<'_>,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        sqlx::query(statement(&self.sql().append))
            .bind(&encoded.streams)
            .bind(&encoded.expected)
            .bind(&encoded.stream_of)
            .bind(&encoded.event_ids)
            .bind(&encoded.event_types)
            .bind(&encoded.schema_versions)
            .bind(&encoded.payload_json)
            .bind(&encoded.payload_bytes)
            .bind(&encoded.metadata)
            .bind(&encoded.keys)
            .fetch_all(conn)
            .await
    }

    /// One try of an append on `conn`: the fast path (one stream, no
    /// idempotency key) or the `append_events` function.
    async fn attempt(
        &self,
        conn: &mut PgConnection,
        appends: &[StreamAppend],
        encoded: &Encoded<'_>,
    ) -> Result<Vec<AppendResult>, Failure> {
        if let ([one], 0) = (appends, encoded.key_count) {
            return self.attempt_one(conn, one, encoded).await;
        }
        match self.call_append(conn, encoded).await {
            Ok(rows) => results(appends, &rows).map_err(Failure::Fatal),
            Err(e) => Err(classify(e, appends)),
        }
    }

    /// Appends with a connection from the pool: the call is one statement,
    /// hence its own transaction, and one round trip.
    pub(crate) async fn append_pooled(
        &self,
        appends: &[StreamAppend],
    ) -> Result<Vec<AppendResult>, Error> {
        let encoded = Encoded::new(appends)?;
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(|e| backend(describe(appends), e))?;
        let mut attempts = encoded.attempts();
        loop {
            attempts -= 1;
            match self.attempt(&mut conn, appends, &encoded).await {
                Ok(results) => return Ok(results),
                Err(Failure::Retry) if attempts > 0 => continue,
                Err(Failure::Retry) => return Err(gave_up(appends)),
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
    }

    /// Appends within a savepoint of `conn`'s open transaction (or in a new
    /// transaction when none is open), so that a conflict leaves the caller's
    /// transaction usable.
    pub(crate) async fn append_on(
        &self,
        conn: &mut PgConnection,
        appends: &[StreamAppend],
    ) -> Result<Vec<AppendResult>, Error> {
        let encoded = Encoded::new(appends)?;
        let fail = |e: sqlx::Error| backend(describe(appends), e);
        let mut attempts = encoded.key_count + CONTENTION_RETRIES_IN_TRANSACTION;
        loop {
            attempts -= 1;
            let mut savepoint = conn.begin().await.map_err(fail)?;
            let attempt = match self.attempt(&mut savepoint, appends, &encoded).await {
                Ok(results) => self
                    .announcer()
                    .in_transaction(&mut savepoint, self.pool())
                    .await
                    .map(|()| results)
                    .map_err(|e| Failure::Fatal(fail(e))),
                failed => failed,
            };
            match attempt {
                Ok(results) => {
                    savepoint.commit().await.map_err(fail)?;
                    return Ok(results);
                }
                Err(failure) => {
                    savepoint.rollback().await.map_err(fail)?;
                    match failure {
                        Failure::Retry if attempts > 0 => continue,
                        Failure::Retry => return Err(gave_up(appends)),
                        Failure::Fatal(e) => return Err(e),
                    }
                }
            }
        }
    }
}

fn gave_up(appends: &[StreamAppend]) -> Error {
    backend(
        describe(appends),
        "concurrent appends kept changing what this append depends on",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use factum_core::EventData;

    fn append(name: &str, expected: ExpectedVersion) -> StreamAppend {
        StreamAppend::new(
            StreamId::new(name).unwrap(),
            expected,
            vec![EventData::json("E", b"{}".to_vec())],
        )
    }

    #[test]
    fn conflict_detail_names_stream_and_actual_version() {
        let appends = [
            append("a", ExpectedVersion::Any),
            append("b", ExpectedVersion::Exact(3)),
        ];
        match conflict_error(Some("2:7"), &appends) {
            Some(Error::VersionConflict {
                stream,
                expected,
                actual,
            }) => {
                assert_eq!(stream.as_str(), "b");
                assert_eq!(expected, ExpectedVersion::Exact(3));
                assert_eq!(actual, Some(7));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            conflict_error(Some("1:"), &appends),
            Some(Error::VersionConflict { actual: None, .. })
        ));
        assert!(conflict_error(Some("3:1"), &appends).is_none());
        assert!(conflict_error(Some("0:1"), &appends).is_none());
        assert!(conflict_error(None, &appends).is_none());
    }

    #[test]
    fn keys_are_sent_only_when_some_event_has_one() {
        let plain = [append("a", ExpectedVersion::Any)];
        assert!(Encoded::new(&plain).unwrap().keys.is_none());
        let mut keyed = plain.clone();
        keyed[0].events[0].idempotency_key = Some("k".into());
        let encoded = Encoded::new(&keyed).unwrap();
        assert_eq!(encoded.keys, Some(vec![Some("k")]));
        assert_eq!(encoded.attempts(), 1 + CONTENTION_RETRIES);
    }
}
