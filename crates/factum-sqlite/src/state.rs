//! Snapshots (the newest per stream) and projection checkpoints.

use factum_core::{BoxError, GlobalPosition, Result, Snapshot, StreamId};
use sqlx::Row;

use crate::connections::Connections;
use crate::error::backend;
use crate::rows::{Encoded, snapshot};
use crate::sql;

/// Saves `snapshot` unless the stream has one of a higher version. One
/// upsert statement, so concurrent saves keep the highest version.
pub(crate) async fn save_snapshot(writer: &Connections, snapshot: Snapshot) -> Result<()> {
    let stream = &snapshot.stream_id;
    let fail = |e: BoxError| backend(format!("saving a snapshot of stream {stream}"), e);
    let version = i64::try_from(snapshot.stream_version).map_err(|_| {
        fail(
            format!(
                "version {} is beyond SQLite's range",
                snapshot.stream_version
            )
            .into(),
        )
    })?;
    let query = sqlx::query(sql::SAVE_SNAPSHOT)
        .bind(stream.as_str())
        .bind(version)
        .bind(i64::from(snapshot.schema_version))
        .bind(snapshot.format.as_str());
    let query = Encoded::of(snapshot.format, &snapshot.state)
        .bind(query)
        .bind(snapshot.taken_at);
    let mut conn = writer.acquire().await.map_err(|e| fail(e.into()))?;
    query
        .execute(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(())
}

/// The stream's snapshot, if any.
pub(crate) async fn load_snapshot(
    reader: &Connections,
    stream: &StreamId,
) -> Result<Option<Snapshot>> {
    let fail = |e: BoxError| backend(format!("loading the snapshot of stream {stream}"), e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let row = sqlx::query(sql::LOAD_SNAPSHOT)
        .bind(stream.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    row.map(|row| snapshot(&row, stream))
        .transpose()
        .map_err(fail)
}

/// The checkpoint saved under `name`.
pub(crate) async fn load_checkpoint(
    reader: &Connections,
    name: &str,
) -> Result<Option<GlobalPosition>> {
    let fail = |e: BoxError| backend(format!("loading checkpoint {name:?}"), e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let row = sqlx::query(sql::LOAD_CHECKPOINT)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let commit: i64 = row.try_get(0).map_err(|e| fail(e.into()))?;
    let sequence: i64 = row.try_get(1).map_err(|e| fail(e.into()))?;
    Ok(Some(GlobalPosition::from_parts(
        from_bits(commit),
        from_bits(sequence),
    )))
}

/// Saves `position` under `name`, replacing what was there.
pub(crate) async fn save_checkpoint(
    writer: &Connections,
    name: &str,
    position: GlobalPosition,
) -> Result<()> {
    let fail = |e: BoxError| backend(format!("saving checkpoint {name:?}"), e);
    let (commit, sequence) = position.to_parts();
    let mut conn = writer.acquire().await.map_err(|e| fail(e.into()))?;
    sqlx::query(sql::SAVE_CHECKPOINT)
        .bind(name)
        .bind(to_bits(commit))
        .bind(to_bits(sequence))
        .execute(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(())
}

/// Forgets the checkpoint of `name`.
pub(crate) async fn delete_checkpoint(writer: &Connections, name: &str) -> Result<()> {
    let fail = |e: BoxError| backend(format!("deleting checkpoint {name:?}"), e);
    let mut conn = writer.acquire().await.map_err(|e| fail(e.into()))?;
    sqlx::query(sql::DELETE_CHECKPOINT)
        .bind(name)
        .execute(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(())
}

/// A position part as SQLite's signed integer, bit for bit, so that every
/// `u64` round-trips (checkpoints are compared in Rust, never in SQL).
fn to_bits(part: u64) -> i64 {
    i64::from_ne_bytes(part.to_ne_bytes())
}

/// The inverse of [`to_bits`].
fn from_bits(stored: i64) -> u64 {
    u64::from_ne_bytes(stored.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_parts_round_trip_through_signed_storage() {
        for part in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(from_bits(to_bits(part)), part);
        }
    }
}
