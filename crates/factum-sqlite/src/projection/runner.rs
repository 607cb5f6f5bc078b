//! [`SqliteProjectionRunner`]: feeds a transactional projection from an
//! SQLite store's global feed, one transaction per page.

use std::convert::Infallible;
use std::time::Duration;

use factum_core::backend::{PageOutcome, Recovery, commit_page, replay_parked};
use factum_core::{
    CheckpointStore, Error, FailurePolicy, FeedCursor, GlobalPosition, Lag, ParkedEvent,
    ParkedReplay, ProjectionError, RecordedEvent, RetryPolicy, SubscriptionOptions,
    TransactionalProjection, Upcasters,
};
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

use super::page::Pages;
use crate::SqliteStore;
use crate::error::backend;
use crate::sql;

/// Feeds a [`TransactionalProjection`] whose read model is tables in the
/// store's own SQLite file, in order, exactly once: each page of events is
/// handled in one transaction on the store's writer connection that also
/// moves the projection's checkpoint (in `factum_checkpoints`, so
/// [`CheckpointStore`] reads it too). A crash, a killed process or a
/// dropped future at any moment leaves read model and checkpoint in step.
///
/// The same projection runs on PostgreSQL with
/// `factum_postgres::PostgresProjectionRunner` when it implements
/// [`TransactionalProjection`] for both connections (see the guide).
///
/// A page holds SQLite's write lock while its handler runs, so appends wait
/// for it: keep pages short ([`with_batch_size`](Self::with_batch_size)) if
/// handlers are slow. The checkpoint moves by compare-and-set from where
/// this runner found it: a rebuild, or a runner in another process, that
/// moved it meanwhile makes this runner read it again instead of handling
/// a page twice.
///
/// Handler failures are retried by the [`RetryPolicy`] (the page's
/// remaining events again, in a fresh transaction); once retries run out,
/// the events before the failing one are committed, and the
/// [`FailurePolicy`] stops the runner ([`ProjectionError::Handler`]) or
/// parks the event and goes on.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use async_trait::async_trait;
/// use factum_core::{BoxError, EventAppender, EventData, ExpectedVersion, RecordedEvent, StreamId, TransactionalProjection};
/// use factum_sqlite::{SqliteProjectionRunner, SqliteStore};
/// use sqlx::SqliteConnection;
///
/// /// Counts events per stream in the table `event_counts`.
/// struct Counts;
///
/// #[async_trait]
/// impl TransactionalProjection<SqliteConnection> for Counts {
///     fn name(&self) -> &str {
///         "event_counts"
///     }
///
///     async fn handle(&mut self, tx: &mut SqliteConnection, event: &RecordedEvent) -> Result<(), BoxError> {
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
///     async fn reset(&mut self, tx: &mut SqliteConnection) -> Result<(), BoxError> {
///         sqlx::query("DELETE FROM event_counts").execute(tx).await?;
///         Ok(())
///     }
/// }
///
/// let store = SqliteStore::in_memory().await?;
/// sqlx::query("CREATE TABLE event_counts (stream_id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
///     .execute(&mut *store.read_connection().await?)
///     .await?;
/// let cart = StreamId::new("cart-1")?;
/// let added = || EventData::json("ItemAdded", b"{}".to_vec());
/// store.append(&cart, ExpectedVersion::Any, vec![added(), added()]).await?;
///
/// let mut runner = SqliteProjectionRunner::new(store.clone(), Counts);
/// assert_eq!(runner.catch_up().await?, 2);
/// let n: i64 = sqlx::query_scalar("SELECT n FROM event_counts WHERE stream_id = 'cart-1'")
///     .fetch_one(&mut *store.read_connection().await?)
///     .await?;
/// assert_eq!(n, 2);
/// # Ok(()) }
/// ```
pub struct SqliteProjectionRunner<P> {
    store: SqliteStore,
    projection: P,
    retry: RetryPolicy,
    on_failure: FailurePolicy,
    upcasters: Upcasters,
    batch_size: usize,
    poll_interval: Duration,
}

impl<P: TransactionalProjection<SqliteConnection>> SqliteProjectionRunner<P> {
    /// A runner with the default retry and failure policies, pages of 500
    /// events and a poll interval of 250 ms (the store's own appends wake it
    /// sooner).
    pub fn new(store: SqliteStore, projection: P) -> Self {
        Self {
            store,
            projection,
            retry: RetryPolicy::default(),
            on_failure: FailurePolicy::default(),
            upcasters: Upcasters::new(),
            batch_size: 500,
            poll_interval: Duration::from_millis(250),
        }
    }

    /// Retries a failing handler by `retry`.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// What to do with an event once retries run out: stop (the default) or
    /// park it and go on.
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.on_failure = policy;
        self
    }

    /// Hands the projection today's events: each stored event as
    /// `upcasters` rewrite it (the repository's upcasters); an event they
    /// split is handed over part by part (in the page's transaction), one
    /// they drop not at all. The filter sees today's events.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Handles pages of `size` events (at least 1): one transaction each.
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// Looks for new events at least this often when caught up.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The projection.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// The projection, mutably.
    pub fn projection_mut(&mut self) -> &mut P {
        &mut self.projection
    }

    /// The saved checkpoint: the last position whose page committed.
    pub async fn checkpoint(&self) -> Result<Option<GlobalPosition>, ProjectionError> {
        self.store
            .load_checkpoint(self.projection.name())
            .await
            .map_err(|e| self.store_error(e))
    }

    /// The checkpoint and the feed's head.
    pub async fn lag(&self) -> Result<Lag, ProjectionError> {
        Lag::read(&self.store, self.projection.name())
            .await
            .map_err(|e| self.store_error(e))
    }

    /// The events parked under this projection's name, oldest first.
    pub async fn parked(&self) -> Result<Vec<ParkedEvent>, ProjectionError> {
        self.store
            .parked_events(self.projection.name())
            .await
            .map_err(|e| self.store_error(e))
    }

    /// Hands each parked event to the handler again, once, oldest first
    /// (after a fix), each in a transaction that also forgets it as parked;
    /// those that fail again stay parked with their new error. The
    /// checkpoint does not move.
    pub async fn replay_parked(&mut self) -> Result<ParkedReplay, ProjectionError> {
        let mut pages = Pages {
            store: &self.store,
            projection: &mut self.projection,
            upcasters: &self.upcasters,
            from: None,
        };
        replay_parked(&mut pages, &self.store).await
    }

    /// Handles every event after the checkpoint up to the end of the feed,
    /// then returns how many events it handed to the handler.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        let mut handled = 0;
        'restart: loop {
            let mut from = self.checkpoint().await?;
            let mut cursor = self.cursor_at(from);
            loop {
                let before = cursor.position();
                let page = self.read_page(&mut cursor).await?;
                if cursor.position() == before {
                    return Ok(handled);
                }
                match self.commit(&mut from, &page, cursor.position()).await? {
                    PageOutcome::Committed(n) => handled += n,
                    PageOutcome::Moved => continue 'restart,
                }
            }
        }
    }

    /// Catches up, then follows new events until an error stops it. Stop it
    /// by dropping the future (or aborting its task): the page in flight
    /// rolls back. A [transient](ProjectionError::is_transient) failure (the
    /// file locked by another process for longer than the busy timeout)
    /// does not stop it: after a pause ([`Recovery`]) it carries on from the
    /// checkpoint. Any other error ends it.
    pub async fn run(&mut self) -> Result<Infallible, ProjectionError> {
        let mut recovery = Recovery::new();
        loop {
            let Err(error) = self.follow().await;
            recovery.recover(error).await?;
        }
    }

    /// Pages from the checkpoint on, waiting when caught up, until an error
    /// stops it; starts over from the checkpoint whenever it moved under
    /// this runner.
    async fn follow(&mut self) -> Result<Infallible, ProjectionError> {
        'restart: loop {
            let mut from = self.checkpoint().await?;
            let mut cursor = self.cursor_at(from);
            loop {
                let before = cursor.position();
                let page = self.read_page(&mut cursor).await?;
                if cursor.position() == before {
                    if self.checkpoint().await? != from {
                        continue 'restart;
                    }
                    cursor.wait().await;
                    continue;
                }
                // A sparse filter may move the checkpoint with no event to
                // handle: it moves all the same.
                if self.commit(&mut from, &page, cursor.position()).await? == PageOutcome::Moved {
                    continue 'restart;
                }
                if cursor.is_caught_up() {
                    cursor.wait().await;
                }
            }
        }
    }

    /// Forgets the checkpoint and clears the read model
    /// ([`TransactionalProjection::reset`]) in one transaction, then replays
    /// the feed from the start up to its end. Returns how many events it
    /// handed to the handler. A projection that does not write its `reset`
    /// is refused ([`ResetNotWritten`](factum_core::ResetNotWritten)) and
    /// keeps its checkpoint and read model.
    pub async fn rebuild(&mut self) -> Result<u64, ProjectionError> {
        let name = self.projection.name().to_owned();
        let fail = |e: sqlx::Error| ProjectionError::Store {
            projection: name.clone(),
            source: backend(format!("resetting projection {name:?}"), e),
        };
        {
            let mut conn = self.store.write_connection().await.map_err(fail)?;
            let mut tx = conn.begin_with(sql::BEGIN_IMMEDIATE).await.map_err(fail)?;
            sqlx::query(sql::DELETE_CHECKPOINT)
                .bind(&name)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            if let Err(source) = self.projection.reset(&mut tx).await {
                let _ = tx.rollback().await;
                return Err(ProjectionError::Reset {
                    projection: name.clone(),
                    source,
                });
            }
            tx.commit().await.map_err(fail)?;
        }
        self.catch_up().await
    }

    /// Commits `page` (read after `from`) by the runner's policies, moving
    /// `from` along.
    async fn commit(
        &mut self,
        from: &mut Option<GlobalPosition>,
        page: &[RecordedEvent],
        through: GlobalPosition,
    ) -> Result<PageOutcome, ProjectionError> {
        let mut pages = Pages {
            store: &self.store,
            projection: &mut self.projection,
            upcasters: &self.upcasters,
            from: *from,
        };
        let outcome = commit_page(&mut pages, self.retry, self.on_failure, page, through).await;
        *from = pages.from;
        outcome
    }

    /// A feed cursor after `from`, with this runner's page size and poll
    /// interval, through the projection's filter (which the store
    /// evaluates, unless upcasters come first).
    fn cursor_at(&self, from: Option<GlobalPosition>) -> FeedCursor {
        let options = SubscriptionOptions::from_start()
            .with_after(from.unwrap_or(GlobalPosition::START))
            .with_filter(self.projection.filter())
            .with_upcasters(self.upcasters.clone())
            .with_batch_size(self.batch_size)
            .with_poll_interval(self.poll_interval);
        FeedCursor::new(&self.store, &options)
    }

    async fn read_page(
        &self,
        cursor: &mut FeedCursor,
    ) -> Result<Vec<RecordedEvent>, ProjectionError> {
        cursor
            .read_page(&self.store)
            .await
            .map_err(|e| self.store_error(e))
    }

    fn store_error(&self, source: Error) -> ProjectionError {
        ProjectionError::Store {
            projection: self.projection.name().to_owned(),
            source,
        }
    }
}

impl<P> std::fmt::Debug for SqliteProjectionRunner<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteProjectionRunner")
            .field("batch_size", &self.batch_size)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}
