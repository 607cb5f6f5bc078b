//! [`SnapshotStore`] and [`CheckpointStore`] for [`SqliteStore`]: the newest
//! snapshot per stream, and projection checkpoints.

use async_trait::async_trait;
use factum_core::backend::{from_stored_bits, saturating_i64, to_stored_bits};
use factum_core::{
    BoxError, CheckpointStore, GlobalPosition, ParkedEvent, Result, Snapshot, SnapshotRead,
    SnapshotStore, StreamId,
};
use sqlx::Row;

use super::SqliteStore;
use crate::connections::Connections;
use crate::decode::{recorded_payload_at, snapshot, snapshot_columns};
use crate::encode::Encoded;
use crate::error::backend;
use crate::sql;

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        save_snapshot(&self.writer, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        load_snapshot(&self.reader, stream).await
    }

    async fn load_snapshot_with_payloads(
        &self,
        stream: &StreamId,
        schema_version: u32,
        until: Option<u64>,
        limit: usize,
    ) -> Result<Option<SnapshotRead>> {
        let fail = |e: BoxError| {
            backend(
                format!("loading the snapshot and events of stream {stream}"),
                e,
            )
        };
        let mut conn = self.reader.acquire().await.map_err(|e| fail(e.into()))?;
        let rows = sqlx::query(sql::LOAD_SNAPSHOT_WITH_PAYLOADS)
            .bind(stream.as_str())
            .bind(i64::from(schema_version))
            .bind(until.map_or(i64::MAX, saturating_i64))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| fail(e.into()))?;
        let mut read = SnapshotRead {
            snapshot: None,
            payloads: Vec::with_capacity(rows.len()),
        };
        for row in &rows {
            let is_snapshot: bool = row.try_get(0).map_err(|e| fail(e.into()))?;
            if is_snapshot {
                let columns = [1, 3, 4, 5, 6];
                read.snapshot = Some(snapshot_columns(row, columns, stream).map_err(fail)?);
            } else {
                read.payloads.push(recorded_payload_at(row, 1, stream)?);
            }
        }
        Ok(Some(read))
    }
}

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
        load_checkpoint(&self.reader, name).await
    }

    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
        save_checkpoint(&self.writer, name, position).await
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<()> {
        delete_checkpoint(&self.writer, name).await
    }

    async fn park_event(&self, parked: &ParkedEvent) -> Result<()> {
        self.park(parked).await
    }

    async fn parked_events(&self, name: &str) -> Result<Vec<ParkedEvent>> {
        self.parked(name).await
    }

    async fn unpark_event(&self, name: &str, position: GlobalPosition) -> Result<bool> {
        self.unpark(name, position).await
    }
}

/// Saves `snapshot` unless the stream has one of a higher version. One
/// upsert statement, so concurrent saves keep the highest version.
async fn save_snapshot(writer: &Connections, snapshot: Snapshot) -> Result<()> {
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
async fn load_snapshot(reader: &Connections, stream: &StreamId) -> Result<Option<Snapshot>> {
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
async fn load_checkpoint(reader: &Connections, name: &str) -> Result<Option<GlobalPosition>> {
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
        from_stored_bits(commit),
        from_stored_bits(sequence),
    )))
}

/// Saves `position` under `name`, replacing what was there.
async fn save_checkpoint(writer: &Connections, name: &str, position: GlobalPosition) -> Result<()> {
    let fail = |e: BoxError| backend(format!("saving checkpoint {name:?}"), e);
    let (commit, sequence) = position.to_parts();
    let mut conn = writer.acquire().await.map_err(|e| fail(e.into()))?;
    sqlx::query(sql::SAVE_CHECKPOINT)
        .bind(name)
        .bind(to_stored_bits(commit))
        .bind(to_stored_bits(sequence))
        .execute(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(())
}

/// Forgets the checkpoint of `name`.
async fn delete_checkpoint(writer: &Connections, name: &str) -> Result<()> {
    let fail = |e: BoxError| backend(format!("deleting checkpoint {name:?}"), e);
    let mut conn = writer.acquire().await.map_err(|e| fail(e.into()))?;
    sqlx::query(sql::DELETE_CHECKPOINT)
        .bind(name)
        .execute(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(())
}
