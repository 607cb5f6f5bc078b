//! The global feed. A row is handed out only once the transaction that
//! wrote it lies below the feed's horizon, the oldest running transaction
//! that writes events (`feed_horizon()`, migration 0006): no transaction
//! can then commit an event ordered before it.
//!
//! Rows that are committed but not yet final (an older transaction of the
//! database is still running) are waited for, up to the configured feed
//! wait, so that an event is in the feed as soon as its append has
//! returned whenever write transactions are short.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use factum_core::backend::{Backoff, from_stored_bits, saturating_i64};
use factum_core::{EventFilter, FeedPage, GlobalPosition, RecordedEvent, Result, Tag};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::FeedHolder;
use crate::decode;
use crate::encode::Query;
use crate::error::backend;
use crate::sql::statement;
use crate::xid8::Xid8;

fn any_pending(row: &PgRow, operation: &str) -> Result<bool> {
    row.try_get(0).map_err(|e| backend(operation, e))
}

impl PostgresStore {
    /// The transactions holding the global feed back, oldest first: running
    /// transactions that write events (an [`append_in`](Self::append_in)
    /// transaction left open, an idle session in such a transaction) behind
    /// which committed events wait. Empty when nothing waits. Transactions
    /// that write no events (a batch job on other tables, in this database
    /// or another) never hold the feed back.
    ///
    /// ```no_run
    /// # async fn demo(store: factum_postgres::PostgresStore) -> factum_core::Result<()> {
    /// for holder in store.feed_held_back_by().await? {
    ///     eprintln!(
    ///         "feed held back by pid {:?} (transaction {}) since {:?}, {:?}",
    ///         holder.pid, holder.transaction_id, holder.since, holder.state
    ///     );
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn feed_held_back_by(&self) -> Result<Vec<FeedHolder>> {
        let operation = "finding what holds the feed back";
        let rows = sqlx::query(statement(&self.sql().feed_holders))
            .fetch_all(self.pool())
            .await
            .map_err(|e| backend(operation, e))?;
        rows.iter()
            .map(|row| {
                let transaction_id: Xid8 = row.try_get(0)?;
                let since: Option<DateTime<Utc>> = row.try_get(2)?;
                Ok(FeedHolder {
                    transaction_id: transaction_id.0,
                    pid: row.try_get(1)?,
                    since,
                    state: row.try_get(3)?,
                    application_name: row.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| backend(operation, e))
    }

    pub(super) async fn read_all_page(
        &self,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let operation = format!("reading the global feed after {after}");
        self.read_final(&self.sql().read_all, after, limit, &operation, |query| {
            query
        })
        .await
    }

    /// One page of a feed statement shaped like `read_all.sql` (`$1`, `$2`
    /// the position read after, `$3` the limit, more parameters bound by
    /// `bind_more`): its final rows, waiting while committed rows are held
    /// back, up to the feed wait.
    pub(super) async fn read_final(
        &self,
        sql: &Arc<str>,
        after: GlobalPosition,
        limit: usize,
        operation: &str,
        bind_more: impl Fn(Query<'static>) -> Query<'static>,
    ) -> Result<Vec<RecordedEvent>> {
        let (commit, seq) = after.to_parts();
        if limit == 0 || i64::try_from(commit).is_err() {
            // No transaction id reaches 2^63: nothing lies after such a position.
            return Ok(Vec::new());
        }
        let mut backoff = Backoff::new(self.options().feed_wait());
        loop {
            let query = sqlx::query(statement(sql))
                .bind(saturating_i64(commit))
                .bind(saturating_i64(seq))
                .bind(saturating_i64(limit as u64));
            let rows = bind_more(query)
                .fetch_all(self.pool())
                .await
                .map_err(|e| backend(operation, e))?;
            let mut pending = false;
            let mut page = Vec::with_capacity(rows.len());
            for row in &rows {
                pending = any_pending(row, operation)?;
                let commit_id: Option<Xid8> = row.try_get(1).map_err(|e| backend(operation, e))?;
                if commit_id.is_some() {
                    page.push(decode::event(row, 1, None)?);
                }
            }
            if page.len() >= limit || !pending || !backoff.pause().await {
                return Ok(page);
            }
        }
    }

    /// Up to `limit` events after `after` that `filter` lets through, and
    /// how far the read looked (see [`EventReader::read_feed`]): up to the
    /// page's last event when it is full, else up to the newest event below
    /// the feed's horizon, below which every row has been looked at.
    ///
    /// [`EventReader::read_feed`]: factum_core::EventReader::read_feed
    pub(super) async fn read_filtered(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        let (commit, seq) = after.to_parts();
        if limit == 0 || i64::try_from(commit).is_err() {
            return Ok(FeedPage {
                at_end: true,
                ..FeedPage::default()
            });
        }
        let operation = format!("reading the global feed after {after} through a filter");
        let mut backoff = Backoff::new(self.options().feed_wait());
        loop {
            let tags: Option<Vec<&str>> = filter
                .tag_names()
                .map(|tags| tags.iter().map(Tag::as_str).collect());
            let sql = match tags {
                Some(_) => &self.sql().read_feed_tagged,
                None => &self.sql().read_feed,
            };
            let query = sqlx::query(statement(sql))
                .bind(saturating_i64(commit))
                .bind(saturating_i64(seq))
                .bind(saturating_i64(limit as u64))
                .bind(filter.event_type_names())
                .bind(filter.category_names());
            let query = match tags {
                Some(tags) => query.bind(tags),
                None => query,
            };
            let rows = query
                .fetch_all(self.pool())
                .await
                .map_err(|e| backend(operation.as_str(), e))?;
            let mut pending = false;
            let mut head: Option<(i64, i64)> = None;
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                pending = any_pending(row, &operation)?;
                let commit: Option<i64> =
                    row.try_get(1).map_err(|e| backend(operation.as_str(), e))?;
                let seq: Option<i64> =
                    row.try_get(2).map_err(|e| backend(operation.as_str(), e))?;
                head = commit.zip(seq);
                let commit_id: Option<Xid8> =
                    row.try_get(3).map_err(|e| backend(operation.as_str(), e))?;
                if commit_id.is_some() {
                    events.push(decode::event(row, 3, None)?);
                }
            }
            if events.len() >= limit {
                let scanned_to = events.last().map(|e| e.position);
                return Ok(FeedPage {
                    events,
                    scanned_to,
                    at_end: false,
                });
            }
            if !pending || !backoff.pause().await {
                // Every row below the horizon has been looked at, up to
                // the newest event there.
                let below = head.map(|(commit, seq)| {
                    GlobalPosition::from_parts(from_stored_bits(commit), from_stored_bits(seq))
                });
                let scanned_to = match below {
                    Some(below) if below > after => Some(below),
                    _ => events.last().map(|e| e.position),
                };
                return Ok(FeedPage {
                    events,
                    scanned_to,
                    at_end: true,
                });
            }
        }
    }

    pub(super) async fn read_head(&self) -> Result<Option<GlobalPosition>> {
        let operation = "reading the head position";
        let mut backoff = Backoff::new(self.options().feed_wait());
        loop {
            let row = sqlx::query(statement(&self.sql().head_position))
                .fetch_one(self.pool())
                .await
                .map_err(|e| backend(operation, e))?;
            let pending = any_pending(&row, operation)?;
            if pending && backoff.pause().await {
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
