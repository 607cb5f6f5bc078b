//! One page of the feed in one transaction: the lease fence (when leased),
//! the checkpoint moved from where this runner found it to the page's last
//! position, and the handler's writes for each wanted event, committed
//! together or not at all. Parking an event and replaying a parked one are
//! single transactions too.

use async_trait::async_trait;
use factum_core::backend::{PageCommit, PageFailure, PageOutcome, to_stored_bits};
use factum_core::{
    BoxError, Error, GlobalPosition, ParkedEvent, RecordedEvent, TransactionalProjection,
};
use sqlx::{Connection, PgConnection, Postgres, Transaction};

use super::runner::PostgresProjectionRunner;
use super::sql::ProjectionQueries;
use crate::PostgresWorkerLease;
use crate::error::{backend, is_unavailable};
use crate::sql::statement;
use crate::store::{park, unpark};

/// A runner's single tries, each one transaction. `from` is where this
/// runner last found (or left) the checkpoint; `token` its lease, if any.
pub(super) struct Pages<'a, P> {
    pub(super) runner: &'a mut PostgresProjectionRunner<P>,
    pub(super) token: Option<i64>,
    pub(super) from: Option<GlobalPosition>,
}

/// What a step does inside its transaction, once fenced.
enum Step<'e> {
    /// Handle a page, moving the checkpoint to the position given (its end,
    /// or past it).
    Page(&'e [RecordedEvent], GlobalPosition),
    /// Park an event, moving the checkpoint to it.
    Park(&'e ParkedEvent, &'e RecordedEvent),
    /// Handle a parked event again and unpark it; the checkpoint stays.
    Replay(&'e RecordedEvent),
}

#[async_trait]
impl<P: TransactionalProjection<PgConnection>> PageCommit for Pages<'_, P> {
    fn projection_name(&self) -> &str {
        self.runner.projection.name()
    }

    fn checkpoint_name(&self) -> String {
        self.runner.checkpoint_name()
    }

    async fn try_commit(
        &mut self,
        page: &[RecordedEvent],
        through: GlobalPosition,
    ) -> Result<PageOutcome, PageFailure> {
        self.run(Step::Page(page, through)).await
    }

    async fn try_park(
        &mut self,
        parked: &ParkedEvent,
        event: &RecordedEvent,
    ) -> Result<PageOutcome, Error> {
        match self.run(Step::Park(parked, event)).await {
            Ok(outcome) => Ok(outcome),
            Err(PageFailure::Store(e)) => Err(e),
            Err(PageFailure::Handler { source, .. }) => Err(backend("parking an event", source)),
        }
    }

    async fn try_replay(&mut self, event: &RecordedEvent) -> Result<(), PageFailure> {
        self.run(Step::Replay(event)).await.map(|_| ())
    }
}

impl<P: TransactionalProjection<PgConnection>> Pages<'_, P> {
    /// One try of `step`: begin, fence, do it, commit. The transaction
    /// rolls back when it is dropped unfinished (on any error, and when the
    /// task is aborted); a clean end puts the connection back.
    async fn run(&mut self, step: Step<'_>) -> Result<PageOutcome, PageFailure> {
        let name = self.runner.projection.name().to_owned();
        let fail = |what: &str, e: sqlx::Error| {
            PageFailure::Store(backend(format!("{what} of projection {name:?}"), e))
        };
        // Dropped unless the transaction ends cleanly (see the runner's
        // `conn`).
        let mut conn = self
            .runner
            .take_connection()
            .await
            .map_err(|e| fail("connecting", e))?;
        let mut tx = conn
            .begin()
            .await
            .map_err(|e| fail("beginning a page", e))?;
        let fenced_in = match self.token {
            Some(token) => fence(&self.runner.lease, &self.runner.sql, &name, &mut tx, token)
                .await
                .map_err(|e| fail("checking the lease", e))?,
            None => true,
        };
        let moved_to = match step {
            Step::Page(_, through) => Some(through),
            Step::Park(_, event) => Some(event.position),
            Step::Replay(_) => None,
        };
        let moved = match moved_to {
            Some(to) => {
                let checkpoint = self.runner.checkpoint_name();
                let sql = &self.runner.sql;
                fenced_in
                    && move_checkpoint(sql, &checkpoint, &mut tx, self.from, to)
                        .await
                        .map_err(|e| fail("moving the checkpoint", e))?
            }
            _ => fenced_in,
        };
        if !moved {
            tx.rollback()
                .await
                .map_err(|e| fail("rolling back a page", e))?;
            self.runner.conn = Some(conn);
            return Ok(PageOutcome::Moved);
        }
        let handled = match self.step(&mut tx, step).await {
            Ok(handled) => handled,
            Err(failure) => {
                // A clean rollback keeps the connection; otherwise it closes.
                if tx.rollback().await.is_ok() {
                    self.runner.conn = Some(conn);
                }
                return Err(failure);
            }
        };
        tx.commit()
            .await
            .map_err(|e| fail("committing a page", e))?;
        self.runner.conn = Some(conn);
        if moved_to.is_some() {
            self.from = moved_to;
        }
        Ok(PageOutcome::Committed(handled))
    }

    /// Does `step` inside `tx`; the number of events handed to the handler.
    async fn step(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        step: Step<'_>,
    ) -> Result<u64, PageFailure> {
        let name = self.runner.checkpoint_name();
        let store = self.runner.store.clone();
        let fail = |e: sqlx::Error| PageFailure::Store(backend(format!("projection {name:?}"), e));
        match step {
            Step::Page(page, _) => {
                let filter = self.runner.projection.filter();
                let partition = self.runner.partition;
                let upcasters = self.runner.upcasters.clone();
                let mut handled = 0;
                for (index, stored) in page.iter().enumerate() {
                    if partition.is_some_and(|p| !p.owns(stored.stream_id.as_str())) {
                        continue;
                    }
                    let today = upcasters
                        .upcast(stored)
                        .map_err(|e| handler_failure(index, e.into()))?;
                    for event in today.iter().filter(|e| filter.matches(e)) {
                        self.handle(tx, event, index).await?;
                        handled += 1;
                    }
                }
                Ok(handled)
            }
            Step::Park(parked, _) => {
                park(&store, &mut **tx, parked).await.map_err(fail)?;
                Ok(0)
            }
            Step::Replay(event) => {
                let filter = self.runner.projection.filter();
                let upcasters = self.runner.upcasters.clone();
                let today = upcasters
                    .upcast(event)
                    .map_err(|e| handler_failure(0, e.into()))?;
                for part in today.iter().filter(|e| filter.matches(e)) {
                    self.handle(tx, part, 0).await?;
                }
                unpark(&store, &mut **tx, &name, event.position)
                    .await
                    .map_err(fail)?;
                Ok(1)
            }
        }
    }

    /// Hands `event` (`page[index]`) to the handler inside `tx`.
    async fn handle(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        event: &RecordedEvent,
        index: usize,
    ) -> Result<(), PageFailure> {
        let Err(source) = self.runner.projection.handle(&mut **tx, event).await else {
            return Ok(());
        };
        // The handler's own statement met a lost connection: the database
        // failed, not the handler.
        if source
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_unavailable)
        {
            let what = format!(
                "handling event {} of projection {:?}",
                event.position,
                self.runner.projection.name()
            );
            return Err(PageFailure::Store(backend(what, source)));
        }
        Err(handler_failure(index, source))
    }
}

/// Moves checkpoint `name` from `from` to `to`; false when it is no longer
/// at `from`.
async fn move_checkpoint(
    sql: &ProjectionQueries,
    name: &str,
    conn: &mut PgConnection,
    from: Option<GlobalPosition>,
    to: GlobalPosition,
) -> Result<bool, sqlx::Error> {
    let (commit, seq) = to.to_parts();
    let statement_sql = match from {
        None => &sql.checkpoint_create,
        Some(_) => &sql.checkpoint_advance,
    };
    let mut query = sqlx::query(statement(statement_sql))
        .bind(name)
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

fn handler_failure(index: usize, source: BoxError) -> PageFailure {
    PageFailure::Handler {
        index,
        kept: 0,
        handled: 0,
        source,
    }
}

/// Locks the lease row of `projection`; true while this runner holds
/// `lease` (if any) with `token`.
pub(super) async fn fence(
    lease: &Option<PostgresWorkerLease>,
    sql: &ProjectionQueries,
    projection: &str,
    conn: &mut PgConnection,
    token: i64,
) -> Result<bool, sqlx::Error> {
    let Some(lease) = lease else {
        return Ok(true);
    };
    let row: Option<i64> = sqlx::query_scalar(statement(&sql.lease_fence))
        .bind(projection)
        .bind(lease.partition)
        .bind(lease.lease().holder())
        .bind(token)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}
