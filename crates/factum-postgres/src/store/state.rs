//! [`SnapshotStore`] and [`CheckpointStore`] for [`PostgresStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use factum_core::{
    CheckpointStore, GlobalPosition, ParkedEvent, PayloadFormat, Result, Snapshot, SnapshotRead,
    SnapshotStore, StreamId,
};
use sqlx::Row;

use factum_core::backend::{from_stored_bits, saturating_i64, to_stored_bits};

use super::PostgresStore;
use crate::decode;
use crate::error::{backend, unsigned};
use crate::sql::statement;

#[async_trait]
impl SnapshotStore for PostgresStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        sqlx::query(statement(&self.sql().save_snapshot))
            .bind(snapshot.stream_id.as_str())
            .bind(saturating_i64(snapshot.stream_version))
            .bind(i64::from(snapshot.schema_version))
            .bind(snapshot.format.as_str())
            .bind(&snapshot.state)
            .bind(snapshot.taken_at)
            .execute(self.pool())
            .await
            .map_err(|e| {
                backend(
                    format!("saving a snapshot of stream {}", snapshot.stream_id),
                    e,
                )
            })?;
        Ok(())
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let operation = || format!("loading the snapshot of stream {stream}");
        let Some(row) = sqlx::query(statement(&self.sql().load_snapshot))
            .bind(stream.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(|e| backend(operation(), e))?
        else {
            return Ok(None);
        };
        let stored = StoredSnapshot {
            stream_version: row.try_get(0).map_err(|e| backend(operation(), e))?,
            schema_version: row.try_get(1).map_err(|e| backend(operation(), e))?,
            format: row.try_get(2).map_err(|e| backend(operation(), e))?,
            state: row.try_get(3).map_err(|e| backend(operation(), e))?,
            taken_at: row.try_get(4).map_err(|e| backend(operation(), e))?,
        };
        stored.into_snapshot(stream).map(Some)
    }

    async fn load_snapshot_with_payloads(
        &self,
        stream: &StreamId,
        schema_version: u32,
        until: Option<u64>,
        limit: usize,
    ) -> Result<Option<SnapshotRead>> {
        let operation = || format!("loading the snapshot and events of stream {stream}");
        let rows = sqlx::query(statement(&self.sql().load_snapshot_with_payloads))
            .bind(stream.as_str())
            .bind(i64::from(schema_version))
            .bind(until.map_or(i64::MAX, saturating_i64))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(self.pool())
            .await
            .map_err(|e| backend(operation(), e))?;
        let mut read = SnapshotRead {
            snapshot: None,
            payloads: Vec::with_capacity(rows.len()),
        };
        for row in &rows {
            let is_snapshot: bool = row.try_get(0).map_err(|e| backend(operation(), e))?;
            if !is_snapshot {
                read.payloads.push(decode::payload_row_at(row, 1, stream)?);
                continue;
            }
            let stored = StoredSnapshot {
                stream_version: row.try_get(1).map_err(|e| backend(operation(), e))?,
                format: row.try_get(2).map_err(|e| backend(operation(), e))?,
                schema_version: row.try_get(3).map_err(|e| backend(operation(), e))?,
                state: row.try_get(5).map_err(|e| backend(operation(), e))?,
                taken_at: row.try_get(6).map_err(|e| backend(operation(), e))?,
            };
            read.snapshot = Some(stored.into_snapshot(stream)?);
        }
        Ok(Some(read))
    }
}

/// A snapshot's columns as stored.
struct StoredSnapshot {
    stream_version: i64,
    schema_version: i64,
    format: String,
    state: Vec<u8>,
    taken_at: DateTime<Utc>,
}

impl StoredSnapshot {
    /// The snapshot of `stream` these columns hold.
    fn into_snapshot(self, stream: &StreamId) -> Result<Snapshot> {
        let operation = || format!("loading the snapshot of stream {stream}");
        let format = self.format;
        Ok(Snapshot {
            stream_id: stream.clone(),
            stream_version: unsigned(self.stream_version, "a snapshot version")?,
            schema_version: u32::try_from(self.schema_version)
                .map_err(|_| backend(operation(), "schema version out of range"))?,
            format: PayloadFormat::from_name(&format)
                .ok_or_else(|| backend(operation(), format!("unknown format {format:?}")))?,
            state: self.state,
            taken_at: self.taken_at,
        })
    }
}

#[async_trait]
impl CheckpointStore for PostgresStore {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
        let operation = || format!("loading checkpoint {name:?}");
        let row = sqlx::query(statement(&self.sql().load_checkpoint))
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| backend(operation(), e))?;
        row.map(|row| {
            let commit: i64 = row.try_get(0).map_err(|e| backend(operation(), e))?;
            let seq: i64 = row.try_get(1).map_err(|e| backend(operation(), e))?;
            Ok(GlobalPosition::from_parts(
                from_stored_bits(commit),
                from_stored_bits(seq),
            ))
        })
        .transpose()
    }

    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
        let (commit, seq) = position.to_parts();
        sqlx::query(statement(&self.sql().save_checkpoint))
            .bind(name)
            .bind(to_stored_bits(commit))
            .bind(to_stored_bits(seq))
            .execute(self.pool())
            .await
            .map_err(|e| backend(format!("saving checkpoint {name:?}"), e))?;
        Ok(())
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<()> {
        sqlx::query(statement(&self.sql().delete_checkpoint))
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(|e| backend(format!("deleting checkpoint {name:?}"), e))?;
        Ok(())
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
