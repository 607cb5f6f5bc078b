//! The global feed and its head. Writers are serialized, so positions are
//! a counter assigned under the write lock and grow in commit order: a
//! reader's snapshot always holds a prefix of the feed, which is therefore
//! final.

use factum_core::backend::saturating_i64;
use factum_core::{BoxError, GlobalPosition, RecordedEvent, Result};
use sqlx::Row;

use crate::connections::Connections;
use crate::decode::{position, recorded_event};
use crate::error::backend;
use crate::sql;

/// Up to `limit` events of the feed after `after`; see
/// [`factum_core::EventReader::read_all`].
pub(super) async fn read_all(
    reader: &Connections,
    after: GlobalPosition,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    let (commit, sequence) = after.to_parts();
    if commit != 0 || limit == 0 {
        // Positions with a commit part come from no SQLite store; they lie
        // after every event here.
        return Ok(Vec::new());
    }
    let fail = |e: BoxError| backend(format!("reading the global feed after {after}"), e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let rows = sqlx::query(sql::READ_ALL)
        .bind(saturating_i64(sequence))
        .bind(saturating_i64(limit as u64))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    rows.iter().map(|row| recorded_event(row, None)).collect()
}

/// The newest event's position.
pub(super) async fn head_position(reader: &Connections) -> Result<Option<GlobalPosition>> {
    let fail = |e: BoxError| backend("reading the head position", e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let row = sqlx::query(sql::HEAD_POSITION)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    let head: Option<i64> = row.try_get(0).map_err(|e| fail(e.into()))?;
    head.map(position).transpose().map_err(fail)
}
