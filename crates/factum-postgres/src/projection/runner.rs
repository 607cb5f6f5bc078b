//! [`PostgresProjectionRunner`]: feeds a [`TransactionalProjection`] from the
//! global feed, one transaction per page.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use factum_core::backend::{PageOutcome, Recovery, commit_page, replay_parked};
use factum_core::{
    CheckpointStore, Error, FailurePolicy, FeedCursor, GlobalPosition, Lag, LeaseTerm, ParkedEvent,
    ParkedReplay, ProjectionError, RecordedEvent, RetryPolicy, SubscriptionOptions,
    TransactionalProjection, Upcasters, WorkerLease,
};
use sqlx::{Connection, PgConnection};

use super::page::Pages;
use super::partition::Partition;
use super::sql::ProjectionQueries;
use crate::{Lease, PostgresStore, PostgresWorkerLease};

/// Feeds a [`TransactionalProjection`] from a [`PostgresStore`]'s global
/// feed, in order, exactly once: each page of events is handled in one
/// transaction that also moves the projection's checkpoint (in the store's
/// `checkpoints` table, so [`CheckpointStore`] reads it too).
///
/// The checkpoint moves by compare-and-set, from where this runner found it:
/// should another runner (or a [`rebuild`](Self::rebuild)) have moved it
/// meanwhile, the page rolls back and the runner reads the checkpoint again.
/// Two runners of one projection can therefore never both commit a page,
/// but without a [`Lease`] they waste work racing; with one, a single
/// runner works and the others stand by.
///
/// Handler failures are retried by the [`RetryPolicy`]: the page's
/// transaction is rolled back and the page's remaining events tried again
/// after the pause (so the handler sees the events before the failing one
/// again, in a fresh transaction). After the last attempt, the events
/// before the failing one are committed on their own, then the
/// [`FailurePolicy`] decides: stop with [`ProjectionError::Handler`] (the
/// default), or park the event (stored in `parked_events` in the
/// transaction that moves the checkpoint past it) and go on. A database
/// failure stops it with [`ProjectionError::Store`], except in
/// [`run`](Self::run), which rides out transient ones. Either way the
/// checkpoint and the read model stay as the last committed page left
/// them: restart the runner.
pub struct PostgresProjectionRunner<P> {
    pub(super) store: PostgresStore,
    pub(super) projection: P,
    retry: RetryPolicy,
    on_failure: FailurePolicy,
    pub(super) upcasters: Upcasters,
    batch_size: usize,
    poll_interval: Duration,
    pub(super) lease: Option<PostgresWorkerLease>,
    pub(super) sql: Arc<ProjectionQueries>,
    /// The runner's own connection for its transactions, outside the pool:
    /// taken out while a transaction runs and put back only once it has
    /// ended cleanly, so a transaction cut short (an error, a dropped
    /// future, an aborted task) closes its connection with it. Back in a
    /// pool, a connection whose `BEGIN` was cancelled could stay open in a
    /// transaction, and the next user's writes would never commit.
    pub(super) conn: Option<PgConnection>,
    pub(super) partition: Option<Partition>,
}

impl<P: TransactionalProjection<PgConnection>> PostgresProjectionRunner<P> {
    /// A runner without a lease, with the default retry policy, pages of
    /// 500 events and a poll interval of 250 ms (the feed signal usually
    /// wakes it sooner).
    pub fn new(store: PostgresStore, projection: P) -> Self {
        let sql = Arc::new(ProjectionQueries::new(store.schema()));
        Self {
            store,
            projection,
            retry: RetryPolicy::default(),
            on_failure: FailurePolicy::default(),
            upcasters: Upcasters::new(),
            batch_size: 500,
            poll_interval: Duration::from_millis(250),
            lease: None,
            sql,
            conn: None,
            partition: None,
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

    /// Works only while holding `lease` (see [`Lease`]), so that several
    /// runners of this projection, in any processes, can be started: one
    /// works, the others take over when it dies.
    pub fn with_lease(mut self, lease: Lease) -> Self {
        let mut lease = self.store.worker_lease(self.projection.name(), lease);
        lease.partition = self.partition.map_or(0, |p| p.stored());
        self.lease = Some(lease);
        self
    }

    /// Handles only the events of `partition`'s streams, with a checkpoint
    /// (and lease) of its own: start one runner per partition, in any
    /// processes, to share the work of one projection.
    pub fn with_partition(mut self, partition: Partition) -> Self {
        self.partition = Some(partition);
        if let Some(lease) = &mut self.lease {
            lease.partition = partition.stored();
        }
        self
    }

    /// The name the checkpoint is stored under: the projection's name, or
    /// [`Partition::checkpoint_name`] for a partition.
    pub fn checkpoint_name(&self) -> String {
        match self.partition {
            Some(p) => p.checkpoint_name(self.projection.name()),
            None => self.projection.name().to_owned(),
        }
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
            .load_checkpoint(&self.checkpoint_name())
            .await
            .map_err(|e| self.store_error(e))
    }

    /// The checkpoint and the feed's head.
    pub async fn lag(&self) -> Result<Lag, ProjectionError> {
        Lag::read(&self.store, &self.checkpoint_name())
            .await
            .map_err(|e| self.store_error(e))
    }

    /// The events parked under this runner's checkpoint name, oldest first.
    pub async fn parked(&self) -> Result<Vec<ParkedEvent>, ProjectionError> {
        self.store
            .parked_events(&self.checkpoint_name())
            .await
            .map_err(|e| self.store_error(e))
    }

    /// Hands each parked event to the handler again, once, oldest first
    /// (after a fix), each in a transaction that also forgets it as parked;
    /// those that fail again stay parked with their new error. The
    /// checkpoint does not move. With a lease, waits for the lease first.
    pub async fn replay_parked(&mut self) -> Result<ParkedReplay, ProjectionError> {
        let held = self.acquire().await?;
        let token = held.as_ref().map(LeaseTerm::token);
        let store = self.store.clone();
        let mut pages = Pages {
            runner: self,
            token,
            from: None,
        };
        let result = replay_parked(&mut pages, &store).await;
        self.release(held).await;
        result
    }

    /// Handles every event after the checkpoint up to the end of the feed,
    /// then returns how many events it handed to the handler. With a lease,
    /// waits for the lease first and lets it go at the end.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        let mut handled = 0;
        loop {
            let held = self.acquire().await?;
            let token = held.as_ref().map(LeaseTerm::token);
            let result = self
                .catch_up_holding(token, held.as_ref(), &mut handled)
                .await;
            self.release(held).await;
            if result?.is_some() {
                return Ok(handled);
            }
        }
    }

    /// Catches up, then follows new events until an error stops it. Stop it
    /// by dropping the future (or aborting its task): the page in flight
    /// rolls back. With a lease, it works only while holding the lease, and
    /// waits to take it again whenever it is lost.
    ///
    /// A [transient](ProjectionError::is_transient) failure (the server
    /// restarting or failing over, a lost connection, a session the server
    /// ended) does not stop it: the page in flight rolls back, and after a
    /// pause ([`Recovery`]) it takes the lease again and carries on from
    /// the checkpoint. Any other error ends it.
    pub async fn run(&mut self) -> Result<Infallible, ProjectionError> {
        let mut recovery = Recovery::new();
        loop {
            let Err(error) = self.follow().await;
            recovery.recover(error).await?;
        }
    }

    /// Takes the lease (if any), then pages from the checkpoint on, until
    /// an error stops it.
    async fn follow(&mut self) -> Result<Infallible, ProjectionError> {
        // A connection that saw a failure may be broken: start afresh.
        self.conn = None;
        loop {
            let held = self.acquire().await?;
            let token = held.as_ref().map(LeaseTerm::token);
            let mut from = self.checkpoint().await?;
            let mut cursor = self.cursor_at(from);
            loop {
                let Some(page) = self.next_page(&mut cursor, from, held.as_ref()).await? else {
                    break;
                };
                let through = cursor.position();
                if self.commit(token, &mut from, &page, through).await? == PageOutcome::Moved {
                    break;
                }
            }
        }
    }

    /// Commits `page` (read after `from`) by the runner's policies, moving
    /// `from` along.
    async fn commit(
        &mut self,
        token: Option<i64>,
        from: &mut Option<GlobalPosition>,
        page: &[RecordedEvent],
        through: GlobalPosition,
    ) -> Result<PageOutcome, ProjectionError> {
        let (retry, on_failure) = (self.retry, self.on_failure);
        let mut pages = Pages {
            runner: self,
            token,
            from: *from,
        };
        let outcome = commit_page(&mut pages, retry, on_failure, page, through).await;
        *from = pages.from;
        outcome
    }

    /// A feed cursor after `from`, with this runner's page size and poll
    /// interval.
    fn cursor_at(&self, from: Option<GlobalPosition>) -> FeedCursor {
        // The projection's filter, which the store evaluates (unless
        // upcasters come first); the partition is checked per event.
        let options = SubscriptionOptions::from_start()
            .with_after(from.unwrap_or(GlobalPosition::START))
            .with_filter(self.projection.filter())
            .with_upcasters(self.upcasters.clone())
            .with_batch_size(self.batch_size)
            .with_poll_interval(self.poll_interval);
        FeedCursor::new(&self.store, &options)
    }

    /// The next page of the feed (possibly empty); `None` when the lease
    /// (if any) is lost.
    async fn read_if_held(
        &self,
        cursor: &mut FeedCursor,
        held: Option<&LeaseTerm>,
    ) -> Result<Option<Vec<RecordedEvent>>, ProjectionError> {
        if held.is_some_and(LeaseTerm::is_lost) {
            return Ok(None);
        }
        let page = cursor
            .read_page(&self.store)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(Some(page))
    }

    /// The next page that moves the cursor (with events, or, through a
    /// sparse filter, past events the filter left out), waiting while
    /// caught up; `None` when the lease is lost or the checkpoint is no
    /// longer `from` (a rebuild, or another runner, moved it), checked each
    /// time the feed is found empty.
    async fn next_page(
        &self,
        cursor: &mut FeedCursor,
        from: Option<GlobalPosition>,
        held: Option<&LeaseTerm>,
    ) -> Result<Option<Vec<RecordedEvent>>, ProjectionError> {
        loop {
            let before = cursor.position();
            let Some(page) = self.read_if_held(cursor, held).await? else {
                return Ok(None);
            };
            if cursor.position() != before {
                return Ok(Some(page));
            }
            if self.checkpoint().await? != from {
                return Ok(None);
            }
            cursor.wait().await;
        }
    }

    /// Pages until the end of the feed, adding the events handed to the
    /// handler to `handled`; `None` when the lease was lost or the
    /// checkpoint moved under this runner (then call again).
    pub(super) async fn catch_up_holding(
        &mut self,
        token: Option<i64>,
        held: Option<&LeaseTerm>,
        handled: &mut u64,
    ) -> Result<Option<()>, ProjectionError> {
        let mut from = self.checkpoint().await?;
        let mut cursor = self.cursor_at(from);
        loop {
            let before = cursor.position();
            let Some(page) = self.read_if_held(&mut cursor, held).await? else {
                return Ok(None);
            };
            if cursor.position() == before {
                return Ok(Some(()));
            }
            match self
                .commit(token, &mut from, &page, cursor.position())
                .await?
            {
                PageOutcome::Committed(n) => *handled += n,
                PageOutcome::Moved => return Ok(None),
            }
        }
    }

    /// The runner's connection, taken out of the runner (see `conn`), or a
    /// new one with the pool's connect options. With a lease, the server
    /// ends the session of a transaction left idle longer than the lease's
    /// time to live (`idle_in_transaction_session_timeout`): a holder that
    /// stalls mid-page (a stopped process, a frozen machine) loses its
    /// page, its row lock on the lease and its hold, so another runner can
    /// take over once the lease expires.
    pub(super) async fn take_connection(&mut self) -> Result<PgConnection, sqlx::Error> {
        if let Some(conn) = self.conn.take() {
            return Ok(conn);
        }
        let mut options = (*self.store.pool().connect_options()).clone();
        if let Some(lease) = &self.lease {
            let idle = format!("{}ms", lease.lease().ttl().as_millis());
            options = options.options([("idle_in_transaction_session_timeout", idle)]);
        }
        PgConnection::connect_with(&options).await
    }

    /// Without a lease: nothing. With one: waits until this runner holds
    /// it, trying every quarter of its time to live.
    pub(super) async fn acquire(&self) -> Result<Option<LeaseTerm>, ProjectionError> {
        match &self.lease {
            Some(lease) => lease
                .acquire()
                .await
                .map(Some)
                .map_err(|e| self.store_error(e)),
            None => Ok(None),
        }
    }

    /// Lets a held lease go, so that another runner need not wait for it
    /// to expire. A failure only delays the others until it expires.
    pub(super) async fn release(&self, held: Option<LeaseTerm>) {
        if let (Some(lease), Some(held)) = (&self.lease, held)
            && let Err(e) = lease.release(held).await
        {
            tracing::warn!(projection = self.projection.name(), error = %e, "releasing a projection lease failed; it expires by itself");
        }
    }

    pub(super) fn store_error(&self, source: Error) -> ProjectionError {
        ProjectionError::Store {
            projection: self.projection.name().to_owned(),
            source,
        }
    }
}
