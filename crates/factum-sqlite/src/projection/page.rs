//! One page of the feed in one SQLite transaction, on the store's writer
//! connection: the checkpoint moved from where the runner found it to the
//! page's last position, and the handler's writes for each wanted event,
//! committed together or not at all.

use async_trait::async_trait;
use factum_core::backend::{PageCommit, PageFailure, PageOutcome, to_stored_bits};
use factum_core::{
    BoxError, Error, GlobalPosition, ParkedEvent, RecordedEvent, TransactionalProjection, Upcasters,
};
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

use crate::SqliteStore;
use crate::error::backend;
use crate::sql;
use crate::store::{park, unpark};

/// A runner's single tries, each one transaction. `from` is where this
/// runner last found (or left) the checkpoint.
pub(super) struct Pages<'a, P> {
    pub(super) store: &'a SqliteStore,
    pub(super) projection: &'a mut P,
    pub(super) upcasters: &'a Upcasters,
    pub(super) from: Option<GlobalPosition>,
}

#[async_trait]
impl<P: TransactionalProjection<SqliteConnection>> PageCommit for Pages<'_, P> {
    fn projection_name(&self) -> &str {
        self.projection.name()
    }

    fn checkpoint_name(&self) -> String {
        self.projection.name().to_owned()
    }

    async fn try_commit(
        &mut self,
        page: &[RecordedEvent],
        through: GlobalPosition,
    ) -> Result<PageOutcome, PageFailure> {
        let name = self.projection.name().to_owned();
        let fail = |what: &str, e: sqlx::Error| {
            PageFailure::Store(backend(format!("{what} of projection {name:?}"), e))
        };
        let mut conn = self
            .store
            .write_connection()
            .await
            .map_err(|e| fail("connecting", e))?;
        let mut tx = conn
            .begin_with(sql::BEGIN_IMMEDIATE)
            .await
            .map_err(|e| fail("beginning a page", e))?;
        if !move_checkpoint(&mut tx, &name, self.from, through)
            .await
            .map_err(|e| fail("moving the checkpoint", e))?
        {
            tx.rollback()
                .await
                .map_err(|e| fail("rolling back a page", e))?;
            return Ok(PageOutcome::Moved);
        }
        let filter = self.projection.filter();
        let mut handled = 0;
        for (index, stored) in page.iter().enumerate() {
            let handling = async {
                let today = self.upcasters.upcast(stored)?;
                for event in today.iter().filter(|e| filter.matches(e)) {
                    self.projection.handle(&mut tx, event).await?;
                    handled += 1;
                }
                Ok::<_, BoxError>(())
            };
            if let Err(source) = handling.await {
                // Dropping `tx` unfinished queues the rollback ahead of the
                // connection's next user; roll back now all the same.
                let _ = tx.rollback().await;
                return Err(PageFailure::Handler {
                    index,
                    kept: 0,
                    handled: 0,
                    source,
                });
            }
        }
        tx.commit()
            .await
            .map_err(|e| fail("committing a page", e))?;
        self.from = Some(through);
        Ok(PageOutcome::Committed(handled))
    }

    async fn try_park(
        &mut self,
        parked: &ParkedEvent,
        event: &RecordedEvent,
    ) -> Result<PageOutcome, Error> {
        let name = self.projection.name().to_owned();
        let fail = |e: sqlx::Error| {
            backend(
                format!("parking event {} of projection {name:?}", event.position),
                e,
            )
        };
        let mut conn = self.store.write_connection().await.map_err(fail)?;
        let mut tx = conn.begin_with(sql::BEGIN_IMMEDIATE).await.map_err(fail)?;
        if !move_checkpoint(&mut tx, &name, self.from, event.position)
            .await
            .map_err(fail)?
        {
            tx.rollback().await.map_err(fail)?;
            return Ok(PageOutcome::Moved);
        }
        park(&mut tx, parked).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        self.from = Some(event.position);
        Ok(PageOutcome::Committed(0))
    }

    async fn try_replay(&mut self, event: &RecordedEvent) -> Result<(), PageFailure> {
        let name = self.projection.name().to_owned();
        let fail = |e: sqlx::Error| {
            PageFailure::Store(backend(
                format!(
                    "replaying parked event {} of projection {name:?}",
                    event.position
                ),
                e,
            ))
        };
        let mut conn = self.store.write_connection().await.map_err(fail)?;
        let mut tx = conn.begin_with(sql::BEGIN_IMMEDIATE).await.map_err(fail)?;
        let filter = self.projection.filter();
        let handling = async {
            let today = self.upcasters.upcast(event)?;
            for event in today.iter().filter(|e| filter.matches(e)) {
                self.projection.handle(&mut tx, event).await?;
            }
            Ok::<_, BoxError>(())
        };
        if let Err(source) = handling.await {
            let _ = tx.rollback().await;
            return Err(PageFailure::Handler {
                index: 0,
                kept: 0,
                handled: 0,
                source,
            });
        }
        unpark(&mut tx, &name, event.position).await.map_err(fail)?;
        tx.commit().await.map_err(fail)
    }
}

/// Moves `name`'s checkpoint from `from` to `to`; false when it is no
/// longer at `from`.
pub(super) async fn move_checkpoint(
    conn: &mut SqliteConnection,
    name: &str,
    from: Option<GlobalPosition>,
    to: GlobalPosition,
) -> Result<bool, sqlx::Error> {
    let (commit, seq) = to.to_parts();
    let sql = match from {
        None => sql::CHECKPOINT_CREATE,
        Some(_) => sql::CHECKPOINT_ADVANCE,
    };
    let mut query = sqlx::query(sql)
        .bind(name)
        .bind(to_stored_bits(commit))
        .bind(to_stored_bits(seq));
    if let Some(from) = from {
        let (from_commit, from_seq) = from.to_parts();
        query = query
            .bind(to_stored_bits(from_commit))
            .bind(to_stored_bits(from_seq));
    }
    Ok(query.fetch_optional(conn).await?.is_some())
}
