//! [`TransactionalProjection`]: a projection whose read model lives in the
//! store's own database, handled exactly once.

use async_trait::async_trait;

use super::ResetNotWritten;
use crate::{BoxError, EventFilter, RecordedEvent};

/// A projection whose read model is tables in the same database as the
/// events: its writes happen inside the transaction that also moves its
/// checkpoint, so read model and checkpoint commit together, and every
/// event changes the read model exactly once, whatever crashes, aborted
/// tasks or killed connections happen in between.
///
/// `C` is the connection the backend's runner hands to the handler, inside
/// the page's transaction: sqlx's `PgConnection` for
/// `factum_postgres::PostgresProjectionRunner`, `SqliteConnection` for
/// `factum_sqlite::SqliteProjectionRunner`. Implement it for one of them,
/// or for every `C` your SQL runs on (see the guide's "Read models in the
/// store's database"), and the same projection runs on either backend.
///
/// That holds only for what `handle` writes through `tx`. Anything else it
/// does (a field of `self`, an HTTP call, a write to another database) is
/// not rolled back with a failed page and may happen again: at least once,
/// as with [`Projection`](crate::Projection).
#[async_trait]
pub trait TransactionalProjection<C: Send + ?Sized>: Send {
    /// The name its checkpoint (and lease, and parked events) is stored
    /// under.
    fn name(&self) -> &str;

    /// The events it wants; all by default. The checkpoint moves past the
    /// others too.
    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }

    /// Applies one event to the read model through `tx`, a connection inside
    /// the page's transaction. An error rolls the whole page back (and it
    /// is retried by the runner's retry policy).
    async fn handle(&mut self, tx: &mut C, event: &RecordedEvent) -> Result<(), BoxError>;

    /// Clears the read model through `tx` before a rebuild, in the
    /// transaction that also forgets the checkpoint. Unless written, it
    /// fails with [`ResetNotWritten`] and the rebuild is refused (rolled
    /// back) instead of applying every event again on top of the read
    /// model.
    async fn reset(&mut self, tx: &mut C) -> Result<(), BoxError> {
        let _ = tx;
        Err(ResetNotWritten.into())
    }
}
