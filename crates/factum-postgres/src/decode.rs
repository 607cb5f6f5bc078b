//! Rows of the events table into [`RecordedEvent`]s (the columns of
//! `sql/event_columns.sql`) and [`RecordedPayload`]s (`sql/payload_columns.sql`).

use chrono::{DateTime, Utc};
use factum_core::{Error, Metadata, PayloadFormat, RecordedEvent, RecordedPayload, StreamId};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::error::{backend, unsigned};
use crate::xid8::Xid8;

/// Decodes the event whose columns start at index `at` of `row`. When the
/// caller knows the stream (a stream read), `stream` is it, and the event
/// shares its id instead of a copy.
pub(crate) fn event(
    row: &PgRow,
    at: usize,
    stream: Option<&StreamId>,
) -> Result<RecordedEvent, Error> {
    let fail = |e: sqlx::Error| backend("decoding a stored event", e);
    let commit_id: Xid8 = row.try_get(at).map_err(fail)?;
    let seq: i64 = row.try_get(at + 1).map_err(fail)?;
    let stream_id: &str = row.try_get(at + 2).map_err(fail)?;
    let stream_version: i64 = row.try_get(at + 3).map_err(fail)?;
    let event_id: Uuid = row.try_get(at + 4).map_err(fail)?;
    let event_type: String = row.try_get(at + 5).map_err(fail)?;
    let schema_version: i64 = row.try_get(at + 6).map_err(fail)?;
    let payload_json: Option<String> = row.try_get(at + 7).map_err(fail)?;
    let payload_bytes: Option<Vec<u8>> = row.try_get(at + 8).map_err(fail)?;
    let metadata: &str = row.try_get(at + 9).map_err(fail)?;
    let idempotency_key: Option<String> = row.try_get(at + 10).map_err(fail)?;
    let recorded_at: DateTime<Utc> = row.try_get(at + 11).map_err(fail)?;

    let (format, payload) = payload(payload_json, payload_bytes)
        .ok_or_else(|| one_payload_missing(stream_id, stream_version))?;
    let metadata = Metadata::from_json(metadata).map_err(|e| {
        backend(
            format!("decoding the metadata of event {stream_id}@{stream_version}"),
            e,
        )
    })?;
    let stream_id = match stream {
        Some(known) if known.as_str() == stream_id => known.clone(),
        _ => StreamId::new(stream_id).map_err(|e| backend("decoding a stored event", e))?,
    };
    Ok(RecordedEvent {
        event_id,
        stream_version: unsigned(stream_version, "a stream version")?,
        stream_id,
        position: commit_id.position(seq)?,
        event_type,
        schema_version: schema_version_of(schema_version)?,
        format,
        payload,
        metadata,
        idempotency_key,
        recorded_at,
    })
}

/// Decodes a row of `sql/payload_columns.sql`, of an event of `stream`.
pub(crate) fn payload_row(row: &PgRow, stream: &StreamId) -> Result<RecordedPayload, Error> {
    let fail = |e: sqlx::Error| backend("decoding a stored event", e);
    let stream_version: i64 = row.try_get(0).map_err(fail)?;
    let event_type: String = row.try_get(1).map_err(fail)?;
    let schema_version: i64 = row.try_get(2).map_err(fail)?;
    let payload_json: Option<String> = row.try_get(3).map_err(fail)?;
    let payload_bytes: Option<Vec<u8>> = row.try_get(4).map_err(fail)?;
    let (format, payload) = payload(payload_json, payload_bytes)
        .ok_or_else(|| one_payload_missing(stream.as_str(), stream_version))?;
    Ok(RecordedPayload {
        stream_version: unsigned(stream_version, "a stream version")?,
        event_type,
        schema_version: schema_version_of(schema_version)?,
        format,
        payload,
    })
}

/// The payload of a row from its two columns, of which exactly one is set
/// (`None` otherwise).
fn payload(json: Option<String>, bytes: Option<Vec<u8>>) -> Option<(PayloadFormat, Vec<u8>)> {
    match (json, bytes) {
        (Some(json), None) => Some((PayloadFormat::Json, json.into_bytes())),
        (None, Some(bytes)) => Some((PayloadFormat::MessagePack, bytes)),
        _ => None,
    }
}

fn one_payload_missing(stream_id: &str, stream_version: i64) -> Error {
    backend(
        "decoding a stored event",
        format!("event {stream_id}@{stream_version} has not exactly one payload"),
    )
}

fn schema_version_of(stored: i64) -> Result<u32, Error> {
    u32::try_from(stored).map_err(|_| {
        backend(
            "decoding a stored event",
            format!("schema version {stored} is out of range"),
        )
    })
}
