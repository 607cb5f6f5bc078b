//! Rebuilding a [`PostgresProjectionRunner`]'s read model: the checkpoint
//! forgotten and the read model reset in one transaction, then the feed
//! replayed.

use factum_core::{ProjectionError, TransactionalProjection};
use sqlx::{Connection, PgConnection};

use super::page::fence;
use super::partition::Partition;
use super::runner::PostgresProjectionRunner;
use crate::error::backend;
use crate::sql::statement;

impl<P: TransactionalProjection<PgConnection>> PostgresProjectionRunner<P> {
    /// Forgets the checkpoint and clears the read model
    /// ([`TransactionalProjection::reset`]) in one transaction, then replays
    /// the feed from the start up to its end. Returns how many events it
    /// handed to the handler. A projection that does not write its `reset`
    /// is refused ([`ResetNotWritten`](factum_core::ResetNotWritten)) and
    /// keeps its checkpoint and read model. With a lease, waits for the
    /// lease first. With
    /// a [`Partition`], the checkpoints of all partitions are forgotten
    /// (the read model is theirs too): each partition's runner replays its
    /// share when it runs.
    /// Runners of this projection elsewhere notice the moved checkpoint and
    /// start over too.
    pub async fn rebuild(&mut self) -> Result<u64, ProjectionError> {
        let mut reset = false;
        let mut handled = 0;
        loop {
            let held = self.acquire().await?;
            let token = held.as_ref().map(factum_core::LeaseTerm::token);
            let result = async {
                if !reset {
                    reset = self.reset(token).await?;
                    if !reset {
                        return Ok(None);
                    }
                }
                self.catch_up_holding(token, held.as_ref(), &mut handled)
                    .await
            }
            .await;
            self.release(held).await;
            if result?.is_some() {
                return Ok(handled);
            }
        }
    }

    /// Deletes the checkpoint and resets the read model in one
    /// transaction; false when the lease was lost first.
    async fn reset(&mut self, token: Option<i64>) -> Result<bool, ProjectionError> {
        let name = self.projection.name().to_owned();
        let fail = |e: sqlx::Error| ProjectionError::Store {
            projection: name.clone(),
            source: backend(format!("resetting projection {name:?}"), e),
        };
        let mut conn = self.take_connection().await.map_err(fail)?;
        let mut tx = conn.begin().await.map_err(fail)?;
        if let Some(token) = token
            && !fence(&self.lease, &self.sql, &name, &mut tx, token)
                .await
                .map_err(fail)?
        {
            tx.rollback().await.map_err(fail)?;
            self.conn = Some(conn);
            return Ok(false);
        }
        // The checkpoint first: its row lock waits for a page in flight
        // elsewhere, whose rows the reset below then sees and clears.
        // A partitioned projection's read model is shared by every
        // partition: all their checkpoints go, in index order (one lock
        // order for concurrent rebuilds), and each partition's runner
        // replays its share when it notices.
        let names = match self.partition {
            Some(p) => (0..p.count())
                .filter_map(|i| Partition::new(i, p.count()).ok())
                .map(|q| q.checkpoint_name(&name))
                .collect(),
            None => vec![name.clone()],
        };
        for checkpoint in names {
            sqlx::query(statement(&self.store.sql().delete_checkpoint))
                .bind(checkpoint)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        self.projection
            .reset(&mut tx)
            .await
            .map_err(|source| ProjectionError::Reset {
                projection: name.clone(),
                source,
            })?;
        tx.commit().await.map_err(fail)?;
        self.conn = Some(conn);
        Ok(true)
    }
}
