//! Parked events ([`FailurePolicy::Park`](factum_core::FailurePolicy::Park))
//! in `factum_parked_events`: the store's [`CheckpointStore`] methods, and
//! the statements a projection runner runs inside its page transactions.

use chrono::{DateTime, Utc};
use factum_core::backend::{from_stored_bits, saturating_i64, stored_u64, to_stored_bits};
use factum_core::{BoxError, GlobalPosition, ParkedEvent, Result, StreamId};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::SqliteStore;
use crate::error::backend;
use crate::sql;

impl SqliteStore {
    /// Parks `parked` (see [`CheckpointStore::park_event`](factum_core::CheckpointStore::park_event)).
    pub(super) async fn park(&self, parked: &ParkedEvent) -> Result<()> {
        let mut conn = self
            .writer
            .acquire()
            .await
            .map_err(|e| park_failed(parked, e))?;
        park(&mut conn, parked)
            .await
            .map_err(|e| park_failed(parked, e))
    }

    /// The events parked under `name`, oldest first.
    pub(super) async fn parked(&self, name: &str) -> Result<Vec<ParkedEvent>> {
        let fail = |e: BoxError| backend(format!("listing the events parked by {name:?}"), e);
        let mut conn = self.reader.acquire().await.map_err(|e| fail(e.into()))?;
        let rows = sqlx::query(sql::PARKED_EVENTS)
            .bind(name)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| fail(e.into()))?;
        rows.iter()
            .map(parked_event)
            .collect::<Result<_, _>>()
            .map_err(fail)
    }

    /// Forgets the event at `position` as parked under `name`.
    pub(super) async fn unpark(&self, name: &str, position: GlobalPosition) -> Result<bool> {
        let fail = |e: sqlx::Error| backend(format!("unparking event {position} of {name:?}"), e);
        let mut conn = self.writer.acquire().await.map_err(fail)?;
        unpark(&mut conn, name, position).await.map_err(fail)
    }
}

fn park_failed(parked: &ParkedEvent, e: sqlx::Error) -> factum_core::Error {
    let operation = format!(
        "parking event {} (version {} of stream {}) of {:?}",
        parked.position, parked.stream_version, parked.stream_id, parked.projection
    );
    backend(operation, e)
}

/// Stores `parked` through `conn` (inside a page's transaction, or on its
/// own).
pub(crate) async fn park(
    conn: &mut SqliteConnection,
    parked: &ParkedEvent,
) -> Result<(), sqlx::Error> {
    let (commit, sequence) = parked.position.to_parts();
    sqlx::query(sql::PARK_EVENT)
        .bind(parked.projection.as_str())
        .bind(to_stored_bits(commit))
        .bind(to_stored_bits(sequence))
        .bind(parked.stream_id.as_str())
        .bind(saturating_i64(parked.stream_version))
        .bind(parked.event_type.as_str())
        .bind(parked.error.as_str())
        .bind(i64::from(parked.attempts))
        .bind(parked.parked_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets a parked event through `conn`; whether one was there.
pub(crate) async fn unpark(
    conn: &mut SqliteConnection,
    name: &str,
    position: GlobalPosition,
) -> Result<bool, sqlx::Error> {
    let (commit, sequence) = position.to_parts();
    let done = sqlx::query(sql::UNPARK_EVENT)
        .bind(name)
        .bind(to_stored_bits(commit))
        .bind(to_stored_bits(sequence))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A row of `parked_events.sql`.
fn parked_event(row: &SqliteRow) -> Result<ParkedEvent, BoxError> {
    let commit: i64 = row.try_get(1)?;
    let sequence: i64 = row.try_get(2)?;
    let attempts: i64 = row.try_get(7)?;
    Ok(ParkedEvent {
        projection: row.try_get(0)?,
        position: GlobalPosition::from_parts(from_stored_bits(commit), from_stored_bits(sequence)),
        stream_id: StreamId::new(row.try_get::<String, _>(3)?)?,
        stream_version: stored_u64(row.try_get(4)?, "a parked event's version")?,
        event_type: row.try_get(5)?,
        error: row.try_get(6)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        parked_at: row.try_get::<DateTime<Utc>, _>(8)?,
    })
}
