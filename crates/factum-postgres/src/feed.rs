//! The global feed. A row is handed out only once the transaction that
//! wrote it lies below the oldest transaction still running on the server
//! (`pg_snapshot_xmin(pg_current_snapshot())`): no transaction can then
//! commit an event ordered before it.
//!
//! Rows that are committed but not yet final (an older transaction is still
//! running) are waited for, up to the configured feed wait, so that an event
//! is in the feed as soon as its append has returned whenever transactions
//! are short.

use std::time::Duration;

use factum_core::{GlobalPosition, RecordedEvent, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;
use tokio::time::Instant;

use crate::error::{backend, clamp_i64};
use crate::sql::statement;
use crate::xid8::Xid8;
use crate::{PostgresStore, decode};

/// First and longest pause between two looks at not-yet-final rows.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// Decides, after each look, whether to look again.
struct Waiter {
    deadline: Instant,
    pause: Duration,
}

impl Waiter {
    fn new(wait: Duration) -> Self {
        Self {
            deadline: Instant::now() + wait,
            pause: FIRST_PAUSE,
        }
    }

    /// Pauses and returns true when there is time left to look again.
    async fn again(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        tokio::time::sleep(self.pause.min(self.deadline - now)).await;
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
        true
    }
}

fn any_pending(row: &PgRow, operation: &str) -> Result<bool> {
    row.try_get(0).map_err(|e| backend(operation, e))
}

impl PostgresStore {
    pub(crate) async fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let (commit, seq) = after.to_parts();
        if limit == 0 || i64::try_from(commit).is_err() {
            // No transaction id reaches 2^63: nothing lies after such a position.
            return Ok(Vec::new());
        }
        let operation = format!("reading the global feed after {after}");
        let mut waiter = Waiter::new(self.options().feed_wait_duration());
        loop {
            let rows = sqlx::query(statement(&self.sql().read_all))
                .bind(clamp_i64(commit))
                .bind(clamp_i64(seq))
                .bind(clamp_i64(limit as u64))
                .fetch_all(self.pool())
                .await
                .map_err(|e| backend(operation.as_str(), e))?;
            let mut pending = false;
            let mut page = Vec::with_capacity(rows.len());
            for row in &rows {
                pending = any_pending(row, &operation)?;
                let commit_id: Option<Xid8> =
                    row.try_get(1).map_err(|e| backend(operation.as_str(), e))?;
                if commit_id.is_some() {
                    page.push(decode::event(row, 1, None)?);
                }
            }
            if page.len() >= limit || !pending || !waiter.again().await {
                return Ok(page);
            }
        }
    }

    pub(crate) async fn read_head(&self) -> Result<Option<GlobalPosition>> {
        let operation = "reading the head position";
        let mut waiter = Waiter::new(self.options().feed_wait_duration());
        loop {
            let row = sqlx::query(statement(&self.sql().head_position))
                .fetch_one(self.pool())
                .await
                .map_err(|e| backend(operation, e))?;
            let pending = any_pending(&row, operation)?;
            if pending && waiter.again().await {
                continue;
            }
            let commit_id: Option<Xid8> = row.try_get(1).map_err(|e| backend(operation, e))?;
            let seq: Option<i64> = row.try_get(2).map_err(|e| backend(operation, e))?;
            return match (commit_id, seq) {
                (Some(commit_id), Some(seq)) => Ok(Some(commit_id.position(seq)?)),
                _ => Ok(None),
            };
        }
    }
}
