//! [`TransactionalProjection`]: what a projection handled exactly once
//! implements.

use async_trait::async_trait;
use factum_core::{BoxError, EventFilter, RecordedEvent};
use sqlx::PgConnection;

/// A projection whose read model is tables in the same PostgreSQL database
/// as the events: its writes happen inside the transaction that also moves
/// its checkpoint, so read model and checkpoint commit together, and every
/// event changes the read model exactly once, whatever crashes, aborted
/// tasks or killed connections happen in between.
///
/// That holds only for what `handle` writes through `tx`. Anything else it
/// does (a field of `self`, an HTTP call, a write to another database) is
/// not rolled back with a failed page and may happen again: at least once,
/// as with core's [`Projection`](factum_core::Projection).
///
/// ```
/// use async_trait::async_trait;
/// use factum_core::{BoxError, RecordedEvent};
/// use factum_postgres::TransactionalProjection;
/// use sqlx::PgConnection;
///
/// /// Counts events per stream in the table `event_counts`.
/// struct Counts;
///
/// #[async_trait]
/// impl TransactionalProjection for Counts {
///     fn name(&self) -> &str {
///         "event_counts"
///     }
///
///     async fn handle(&mut self, tx: &mut PgConnection, event: &RecordedEvent) -> Result<(), BoxError> {
///         sqlx::query(
///             "INSERT INTO event_counts (stream_id, n) VALUES ($1, 1) \
///              ON CONFLICT (stream_id) DO UPDATE SET n = event_counts.n + 1",
///         )
///         .bind(event.stream_id.as_str())
///         .execute(tx)
///         .await?;
///         Ok(())
///     }
///
///     async fn reset(&mut self, tx: &mut PgConnection) -> Result<(), BoxError> {
///         sqlx::query("DELETE FROM event_counts").execute(tx).await?;
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait TransactionalProjection: Send {
    /// The name its checkpoint (and lease) is stored under.
    fn name(&self) -> &str;

    /// The events it wants; all by default. The checkpoint moves past the
    /// others too.
    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }

    /// Applies one event to the read model through `tx`, a connection inside
    /// the page's transaction. An error rolls the whole page back (and it
    /// is retried by the runner's retry policy).
    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError>;

    /// Clears the read model through `tx` before a rebuild, in the
    /// transaction that also forgets the checkpoint; does nothing by
    /// default.
    async fn reset(&mut self, tx: &mut PgConnection) -> Result<(), BoxError> {
        let _ = tx;
        Ok(())
    }
}
