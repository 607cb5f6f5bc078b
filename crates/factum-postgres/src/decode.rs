//! Rows of the events table into [`RecordedEvent`]s (the columns of
//! `sql/event_columns.sql`) and [`RecordedPayload`]s (`sql/payload_columns.sql`).
//! A row factum could not have written (altered behind its back) is an
//! [`Error::CorruptEvent`] naming the row as far as it can be read.

use chrono::{DateTime, Utc};
use factum_core::backend::stored_u64;
use factum_core::{
    BoxError, Error, GlobalPosition, Metadata, PayloadFormat, RecordedEvent, RecordedPayload,
    StreamId, Tag,
};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::xid8::Xid8;

/// Decodes the event whose columns start at index `at` of `row`. When the
/// caller knows the stream (a stream read), `stream` is it, and the event
/// shares its id instead of a copy.
pub(crate) fn event(
    row: &PgRow,
    at: usize,
    stream: Option<&StreamId>,
) -> Result<RecordedEvent, Error> {
    event_columns(row, at, stream).map_err(|source| Error::CorruptEvent {
        backend: "postgres",
        position: row
            .try_get(at)
            .ok()
            .zip(row.try_get(at + 1).ok())
            .and_then(|(commit, seq)| position(commit, seq).ok()),
        stream: row.try_get(at + 2).ok(),
        stream_version: row
            .try_get(at + 3)
            .ok()
            .and_then(|v| stream_version(v).ok()),
        source,
    })
}

fn event_columns(
    row: &PgRow,
    at: usize,
    stream: Option<&StreamId>,
) -> Result<RecordedEvent, BoxError> {
    let stream_id: &str = row.try_get(at + 2)?;
    let (format, payload) = payload(row.try_get(at + 7)?, row.try_get(at + 8)?)?;
    let metadata = Metadata::from_json(row.try_get(at + 9)?)
        .map_err(|e| format!("metadata that is not factum's JSON object: {e}"))?;
    let stream_id = match stream {
        Some(known) if known.as_str() == stream_id => known.clone(),
        _ => StreamId::new(stream_id)?,
    };
    Ok(RecordedEvent {
        position: position(row.try_get(at)?, row.try_get(at + 1)?)?,
        stream_id,
        stream_version: stream_version(row.try_get(at + 3)?)?,
        event_id: row.try_get::<Uuid, _>(at + 4)?,
        event_type: row.try_get(at + 5)?,
        schema_version: schema_version(row.try_get(at + 6)?)?,
        format,
        payload,
        metadata,
        idempotency_key: row.try_get(at + 10)?,
        recorded_at: row.try_get::<DateTime<Utc>, _>(at + 11)?,
        tags: tags(row.try_get(at + 12)?)?,
    })
}

/// The tags stored as a text array (`None`: no tag).
fn tags(stored: Option<Vec<String>>) -> Result<Vec<Tag>, BoxError> {
    stored
        .unwrap_or_default()
        .into_iter()
        .map(|t| Tag::new(t).map_err(BoxError::from))
        .collect()
}

/// Decodes a row of `sql/payload_columns.sql`, of an event of `stream`.
pub(crate) fn payload_row(row: &PgRow, stream: &StreamId) -> Result<RecordedPayload, Error> {
    payload_row_at(row, 0, stream)
}

/// Decodes the columns of `sql/payload_columns.sql` that start at column
/// `at` of `row`, of an event of `stream`.
pub(crate) fn payload_row_at(
    row: &PgRow,
    at: usize,
    stream: &StreamId,
) -> Result<RecordedPayload, Error> {
    payload_columns(row, at).map_err(|source| Error::CorruptEvent {
        backend: "postgres",
        position: None,
        stream: Some(stream.as_str().to_owned()),
        stream_version: row.try_get(at).ok().and_then(|v| stream_version(v).ok()),
        source,
    })
}

fn payload_columns(row: &PgRow, at: usize) -> Result<RecordedPayload, BoxError> {
    let (format, payload) = payload(row.try_get(at + 3)?, row.try_get(at + 4)?)?;
    Ok(RecordedPayload {
        stream_version: stream_version(row.try_get(at)?)?,
        event_type: row.try_get(at + 1)?,
        schema_version: schema_version(row.try_get(at + 2)?)?,
        format,
        payload,
    })
}

/// The global position of a row from its transaction id and sequence.
fn position(commit: Xid8, seq: i64) -> Result<GlobalPosition, BoxError> {
    Ok(GlobalPosition::from_parts(
        commit.0,
        stored_u64(seq, "a sequence number")?,
    ))
}

/// A stored stream version: versions start at 1.
fn stream_version(stored: i64) -> Result<u64, BoxError> {
    match stored_u64(stored, "a stream version")? {
        0 => Err("stream version 0 (versions start at 1)".into()),
        version => Ok(version),
    }
}

/// The payload of a row from its two columns, of which exactly one is set.
fn payload(
    json: Option<String>,
    bytes: Option<Vec<u8>>,
) -> Result<(PayloadFormat, Vec<u8>), BoxError> {
    match (json, bytes) {
        (Some(json), None) => Ok((PayloadFormat::Json, json.into_bytes())),
        (None, Some(bytes)) => Ok((PayloadFormat::MessagePack, bytes)),
        (None, None) => Err("neither payload column is set".into()),
        (Some(_), Some(_)) => Err("both payload columns are set".into()),
    }
}

fn schema_version(stored: i64) -> Result<u32, BoxError> {
    u32::try_from(stored).map_err(|_| format!("schema version {stored} is out of range").into())
}
