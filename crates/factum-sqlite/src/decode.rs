//! Rows into factum types: events, payloads, snapshots, positions.

use chrono::{DateTime, Utc};
use factum_core::{
    BoxError, Error, GlobalPosition, Metadata, PayloadFormat, RecordedEvent, RecordedPayload,
    Snapshot, StreamId, Tag,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use factum_core::backend::stored_u64;

use crate::error::BACKEND;

/// The global position of the row whose `position` column is `sequence`.
pub(crate) fn position(sequence: i64) -> Result<GlobalPosition, BoxError> {
    Ok(GlobalPosition::from_parts(
        0,
        stored_u64(sequence, "a position")?,
    ))
}

/// The format stored under `name`.
pub(crate) fn format(name: &str) -> Result<PayloadFormat, BoxError> {
    PayloadFormat::from_name(name).ok_or_else(|| format!("unknown payload format {name:?}").into())
}

/// A stored schema version.
fn schema_version(value: i64) -> Result<u32, BoxError> {
    u32::try_from(value)
        .map_err(|_| format!("stored schema version {value} is out of range").into())
}

/// Decodes a row of the event columns (see `read_all.sql` for the order).
/// Stream reads pass their stream id so it is not parsed again per row. A
/// row factum could not have written is an [`Error::CorruptEvent`] naming
/// it.
pub(crate) fn recorded_event(
    row: &SqliteRow,
    stream: Option<&StreamId>,
) -> Result<RecordedEvent, Error> {
    event_columns(row, stream).map_err(|source| Error::CorruptEvent {
        backend: BACKEND,
        position: row.try_get(0).ok().and_then(|p| position(p).ok()),
        stream: stream
            .map(|s| s.as_str().to_owned())
            .or_else(|| row.try_get(1).ok()),
        stream_version: row.try_get(2).ok().and_then(|v| stream_version(v).ok()),
        source,
    })
}

fn event_columns(row: &SqliteRow, stream: Option<&StreamId>) -> Result<RecordedEvent, BoxError> {
    let stream_id = match stream {
        Some(stream) => stream.clone(),
        None => StreamId::new(row.try_get::<&str, _>(1)?)?,
    };
    let metadata = Metadata::from_json(row.try_get(8)?)
        .map_err(|e| format!("metadata that is not factum's JSON object: {e}"))?;
    Ok(RecordedEvent {
        position: position(row.try_get(0)?)?,
        stream_id,
        stream_version: stream_version(row.try_get(2)?)?,
        event_id: row.try_get::<Uuid, _>(3)?,
        event_type: row.try_get(4)?,
        schema_version: schema_version(row.try_get(5)?)?,
        format: format(row.try_get(6)?)?,
        payload: row.try_get(7)?,
        metadata,
        idempotency_key: row.try_get(9)?,
        recorded_at: row.try_get::<DateTime<Utc>, _>(10)?,
        tags: tags(row.try_get(11)?)?,
    })
}

/// The tags stored as a JSON array of strings (`None`: no tag).
pub(crate) fn tags(stored: Option<&str>) -> Result<Vec<Tag>, BoxError> {
    stored.map_or(Ok(Vec::new()), |json| {
        serde_json::from_str(json)
            .map_err(|e| format!("tags that are not a JSON array of valid tags: {e}").into())
    })
}

/// Decodes a row of `read_payloads_forward.sql` or `_backward.sql`, of an
/// event of `stream`; a corrupt row is an [`Error::CorruptEvent`].
pub(crate) fn recorded_payload(
    row: &SqliteRow,
    stream: &StreamId,
) -> Result<RecordedPayload, Error> {
    recorded_payload_at(row, 0, stream)
}

/// [`recorded_payload`] of the five payload columns from column `at` on.
pub(crate) fn recorded_payload_at(
    row: &SqliteRow,
    at: usize,
    stream: &StreamId,
) -> Result<RecordedPayload, Error> {
    payload_columns(row, at).map_err(|source| Error::CorruptEvent {
        backend: BACKEND,
        position: None,
        stream: Some(stream.as_str().to_owned()),
        stream_version: row.try_get(at).ok().and_then(|v| stream_version(v).ok()),
        source,
    })
}

fn payload_columns(row: &SqliteRow, at: usize) -> Result<RecordedPayload, BoxError> {
    Ok(RecordedPayload {
        stream_version: stream_version(row.try_get(at)?)?,
        event_type: row.try_get(at + 1)?,
        schema_version: schema_version(row.try_get(at + 2)?)?,
        format: format(row.try_get(at + 3)?)?,
        payload: row.try_get(at + 4)?,
    })
}

/// A stored stream version: versions start at 1.
fn stream_version(stored: i64) -> Result<u64, BoxError> {
    match stored_u64(stored, "a stream version")? {
        0 => Err("stream version 0 (versions start at 1)".into()),
        version => Ok(version),
    }
}

/// Decodes a row of `load_snapshot.sql`.
pub(crate) fn snapshot(row: &SqliteRow, stream: &StreamId) -> Result<Snapshot, BoxError> {
    snapshot_columns(row, [0, 1, 2, 3, 4], stream)
}

/// Decodes a snapshot whose version, schema version, format, state and
/// time are the columns `columns` of `row`.
pub(crate) fn snapshot_columns(
    row: &SqliteRow,
    [version, schema, form, state, taken_at]: [usize; 5],
    stream: &StreamId,
) -> Result<Snapshot, BoxError> {
    Ok(Snapshot {
        stream_id: stream.clone(),
        stream_version: stored_u64(row.try_get(version)?, "a snapshot version")?,
        schema_version: schema_version(row.try_get(schema)?)?,
        format: format(row.try_get(form)?)?,
        state: row.try_get(state)?,
        taken_at: row.try_get(taken_at)?,
    })
}
