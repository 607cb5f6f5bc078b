//! One page of the feed in one transaction: the lease fence (when leased),
//! the checkpoint moved from where this runner found it to the page's last
//! position, and the handler's writes for each wanted event, committed
//! together or not at all.

use factum_core::backend::to_stored_bits;
use factum_core::{BoxError, Error, GlobalPosition, ProjectionError, RecordedEvent, RetryPolicy};
use sqlx::{Connection, PgConnection};

use super::runner::{PageOutcome, PostgresProjectionRunner};
use super::transactional::TransactionalProjection;
use crate::error::{backend, is_unavailable};
use crate::sql::statement;

/// Why one try of a page failed.
enum Failure {
    /// The handler failed on `page[index]`.
    Handler { index: usize, source: BoxError },
    /// The database failed.
    Store(Error),
}

impl<P: TransactionalProjection> PostgresProjectionRunner<P> {
    /// Commits `page` (read after `from`), retrying a failing handler by the
    /// retry policy (the whole transaction again, after a pause).
    pub(super) async fn commit_page(
        &mut self,
        token: Option<i64>,
        from: Option<GlobalPosition>,
        page: &[RecordedEvent],
    ) -> Result<PageOutcome, ProjectionError> {
        let retry: RetryPolicy = self.retry;
        let mut backoff = retry.first_backoff;
        let mut failing: Option<(GlobalPosition, u32)> = None;
        loop {
            match self.try_page(token, from, page).await {
                Ok(outcome) => return Ok(outcome),
                Err(Failure::Store(source)) => return Err(self.store_error(source)),
                Err(Failure::Handler { index, source }) => {
                    let Some(event) = page.get(index) else {
                        return Err(self.store_error(backend(
                            "handling a page",
                            "the handler failed on an event outside the page",
                        )));
                    };
                    let attempts = match failing {
                        Some((position, n)) if position == event.position => n + 1,
                        _ => 1,
                    };
                    if attempts == 1 {
                        backoff = retry.first_backoff;
                    }
                    failing = Some((event.position, attempts));
                    if attempts >= retry.max_attempts {
                        return Err(ProjectionError::Handler {
                            projection: self.projection.name().to_owned(),
                            position: event.position,
                            stream: event.stream_id.to_string(),
                            event_type: event.event_type.clone(),
                            attempts,
                            source,
                        });
                    }
                    tracing::warn!(projection = self.projection.name(), position = %event.position, error = %source, attempts, "projection handler failed; retrying the page");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(retry.max_backoff);
                }
            }
        }
    }

    /// One try: begin, fence, move the checkpoint, handle, commit. The
    /// transaction rolls back when it is dropped unfinished (on any error,
    /// and when the task is aborted).
    async fn try_page(
        &mut self,
        token: Option<i64>,
        from: Option<GlobalPosition>,
        page: &[RecordedEvent],
    ) -> Result<PageOutcome, Failure> {
        let Some(last) = page.last() else {
            return Ok(PageOutcome::Committed(0));
        };
        let name = self.projection.name().to_owned();
        let fail = |what: &str, e: sqlx::Error| {
            Failure::Store(backend(format!("{what} of projection {name:?}"), e))
        };
        // Dropped unless the transaction ends cleanly (see the runner's
        // `conn`).
        let mut conn = self
            .take_connection()
            .await
            .map_err(|e| fail("connecting", e))?;
        let mut tx = conn
            .begin()
            .await
            .map_err(|e| fail("beginning a page", e))?;
        let fenced_in = match token {
            Some(token) => self
                .fence(&mut tx, token)
                .await
                .map_err(|e| fail("checking the lease", e))?,
            None => true,
        };
        if !fenced_in
            || !self
                .move_checkpoint(&mut tx, from, last.position)
                .await
                .map_err(|e| fail("moving the checkpoint", e))?
        {
            tx.rollback()
                .await
                .map_err(|e| fail("rolling back a page", e))?;
            self.conn = Some(conn);
            return Ok(PageOutcome::Moved);
        }
        let filter = self.projection.filter();
        let mut handled = 0;
        for (index, event) in page.iter().enumerate() {
            if !filter.matches(event)
                || self
                    .partition
                    .is_some_and(|p| !p.owns(event.stream_id.as_str()))
            {
                continue;
            }
            if let Err(source) = self.projection.handle(&mut tx, event).await {
                // A clean rollback keeps the connection; otherwise it closes.
                if tx.rollback().await.is_ok() {
                    self.conn = Some(conn);
                }
                // The handler's own statement met a lost connection: the
                // database failed, not the handler.
                if source
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(is_unavailable)
                {
                    let what = format!("handling event {} of projection {name:?}", event.position);
                    return Err(Failure::Store(backend(what, source)));
                }
                return Err(Failure::Handler { index, source });
            }
            handled += 1;
        }
        tx.commit()
            .await
            .map_err(|e| fail("committing a page", e))?;
        self.conn = Some(conn);
        Ok(PageOutcome::Committed(handled))
    }

    /// Locks the lease row; true while this runner holds it with `token`.
    pub(super) async fn fence(
        &self,
        conn: &mut PgConnection,
        token: i64,
    ) -> Result<bool, sqlx::Error> {
        let Some(lease) = &self.lease else {
            return Ok(true);
        };
        let row: Option<i64> = sqlx::query_scalar(statement(&self.sql.lease_fence))
            .bind(self.projection.name())
            .bind(lease.partition)
            .bind(lease.lease.holder())
            .bind(token)
            .fetch_optional(conn)
            .await?;
        Ok(row.is_some())
    }

    /// Moves the checkpoint from `from` to `to`; false when it is no longer
    /// at `from`.
    async fn move_checkpoint(
        &self,
        conn: &mut PgConnection,
        from: Option<GlobalPosition>,
        to: GlobalPosition,
    ) -> Result<bool, sqlx::Error> {
        let (commit, seq) = to.to_parts();
        let sql = match from {
            None => &self.sql.checkpoint_create,
            Some(_) => &self.sql.checkpoint_advance,
        };
        let mut query = sqlx::query(statement(sql))
            .bind(self.checkpoint_name())
            .bind(to_stored_bits(commit))
            .bind(to_stored_bits(seq));
        if let Some(from) = from {
            let (from_commit, from_seq) = from.to_parts();
            query = query
                .bind(to_stored_bits(from_commit))
                .bind(to_stored_bits(from_seq));
        }
        let row = query.fetch_optional(conn).await?;
        Ok(row.is_some())
    }
}
