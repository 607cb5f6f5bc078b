//! Parked events ([`FailurePolicy::Park`](factum_core::FailurePolicy::Park))
//! in the table `parked_events`: what [`PostgresStore`]'s
//! [`CheckpointStore`](factum_core::CheckpointStore) methods and the
//! projection runner's page transactions run.

use chrono::{DateTime, Utc};
use factum_core::backend::{from_stored_bits, saturating_i64, to_stored_bits};
use factum_core::{BoxError, GlobalPosition, ParkedEvent, Result, StreamId};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};

use super::PostgresStore;
use crate::error::{backend, unsigned};
use crate::sql::statement;

impl PostgresStore {
    /// Parks `parked` (see [`CheckpointStore::park_event`](factum_core::CheckpointStore::park_event)).
    pub(super) async fn park(&self, parked: &ParkedEvent) -> Result<()> {
        park(self, self.pool(), parked).await.map_err(|e| {
            let operation = format!(
                "parking event {} (version {} of stream {}) of {:?}",
                parked.position, parked.stream_version, parked.stream_id, parked.projection
            );
            backend(operation, e)
        })
    }

    /// The events parked under `name`, oldest first.
    pub(super) async fn parked(&self, name: &str) -> Result<Vec<ParkedEvent>> {
        let fail = |e: BoxError| backend(format!("listing the events parked by {name:?}"), e);
        let rows = sqlx::query(statement(&self.sql().parked_events))
            .bind(name)
            .fetch_all(self.pool())
            .await
            .map_err(|e| fail(e.into()))?;
        rows.iter()
            .map(parked_event)
            .collect::<Result<_, _>>()
            .map_err(fail)
    }

    /// Forgets the event at `position` as parked under `name`.
    pub(super) async fn unpark(&self, name: &str, position: GlobalPosition) -> Result<bool> {
        unpark(self, self.pool(), name, position)
            .await
            .map_err(|e| backend(format!("unparking event {position} of {name:?}"), e))
    }
}

/// Stores `parked` through `conn` (inside a page's transaction, or on its
/// own).
pub(crate) async fn park<'c>(
    store: &PostgresStore,
    conn: impl PgExecutor<'c>,
    parked: &ParkedEvent,
) -> Result<(), sqlx::Error> {
    let (commit, seq) = parked.position.to_parts();
    sqlx::query(statement(&store.sql().park_event))
        .bind(parked.projection.as_str())
        .bind(to_stored_bits(commit))
        .bind(to_stored_bits(seq))
        .bind(parked.stream_id.as_str())
        .bind(saturating_i64(parked.stream_version))
        .bind(parked.event_type.as_str())
        .bind(parked.error.as_str())
        .bind(i32::try_from(parked.attempts).unwrap_or(i32::MAX))
        .bind(parked.parked_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets a parked event through `conn`; whether one was there.
pub(crate) async fn unpark<'c>(
    store: &PostgresStore,
    conn: impl PgExecutor<'c>,
    name: &str,
    position: GlobalPosition,
) -> Result<bool, sqlx::Error> {
    let (commit, seq) = position.to_parts();
    let done = sqlx::query(statement(&store.sql().unpark_event))
        .bind(name)
        .bind(to_stored_bits(commit))
        .bind(to_stored_bits(seq))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A row of `parked_events.sql`.
fn parked_event(row: &PgRow) -> Result<ParkedEvent, BoxError> {
    let commit: i64 = row.try_get(1)?;
    let seq: i64 = row.try_get(2)?;
    let attempts: i32 = row.try_get(7)?;
    Ok(ParkedEvent {
        projection: row.try_get(0)?,
        position: GlobalPosition::from_parts(from_stored_bits(commit), from_stored_bits(seq)),
        stream_id: StreamId::new(row.try_get::<String, _>(3)?)?,
        stream_version: unsigned(row.try_get(4)?, "a parked event's version")?,
        event_type: row.try_get(5)?,
        error: row.try_get(6)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        parked_at: row.try_get::<DateTime<Utc>, _>(8)?,
    })
}
