//! [`Projection`] and [`ProjectionRunner`]: a read model fed at least once
//! from the global feed, its checkpoint saved after each page.

use std::convert::Infallible;
use std::time::Duration;

use async_trait::async_trait;

use super::page::{PageCommit, PageFailure, PageOutcome, ParkedReplay, commit_page, replay_parked};
use super::{FailurePolicy, Lag, ParkedEvent, ProjectionError, ResetNotWritten, RetryPolicy};
use crate::backend::Recovery;
use crate::{
    BoxError, Error, EventFilter, EventStore, FeedCursor, GlobalPosition, RecordedEvent,
    SubscriptionOptions, Upcasters,
};

/// A named consumer of events that builds a read model. Its checkpoint (the
/// last position handled) is stored under its name.
///
/// Delivery is at least once: after a crash, the events after the last saved
/// checkpoint are handled again, so `handle` should be idempotent (or the
/// read model should live in the store's database and commit with the
/// checkpoint, where the backend offers that).
#[async_trait]
pub trait Projection: Send {
    /// The name its checkpoint is stored under.
    fn name(&self) -> &str;

    /// The events it wants; all by default.
    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }

    /// Applies one event to the read model.
    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError>;

    /// Clears the read model before a rebuild. Unless written, it fails
    /// with [`ResetNotWritten`], so that [`ProjectionRunner::rebuild`]
    /// refuses instead of applying every event again on top of the read
    /// model; a projection with nothing to clear writes one returning
    /// `Ok(())`.
    async fn reset(&mut self) -> Result<(), BoxError> {
        Err(ResetNotWritten.into())
    }
}

/// Feeds a projection from a store's global feed, in order, saving its
/// checkpoint after each page of events.
///
/// A failing handler is tried again by the [`RetryPolicy`]; once its
/// attempts are spent, the checkpoint is saved just before the failing
/// event and the [`FailurePolicy`] decides: stop (the default) or park the
/// event and go on.
pub struct ProjectionRunner<S, P> {
    store: S,
    projection: P,
    retry: RetryPolicy,
    on_failure: FailurePolicy,
    options: SubscriptionOptions,
}

impl<S: EventStore, P: Projection> ProjectionRunner<S, P> {
    /// A runner with the default retry and failure policies and feed
    /// options.
    pub fn new(store: S, projection: P) -> Self {
        Self {
            store,
            projection,
            retry: RetryPolicy::default(),
            on_failure: FailurePolicy::default(),
            options: SubscriptionOptions::default(),
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
    /// `upcasters` rewrite it (the repository's upcasters, so that the
    /// projection sees the event types the aggregates do); an event they
    /// split is handed over part by part, one they drop not at all. The
    /// filter sees today's events.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.options = self.options.with_upcasters(upcasters);
        self
    }

    /// Reads the feed in pages of `size` events (one checkpoint per page).
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.options = self.options.with_batch_size(size);
        self
    }

    /// Looks for new events at least this often when live.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.options = self.options.with_poll_interval(interval);
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

    /// The saved checkpoint.
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
    /// (after a fix): those it handles are no longer parked, the others
    /// stay parked with their new error. The checkpoint does not move.
    pub async fn replay_parked(&mut self) -> Result<ParkedReplay, ProjectionError> {
        let mut committer = Committer {
            store: &self.store,
            projection: &mut self.projection,
            upcasters: self.options.upcasters(),
        };
        replay_parked(&mut committer, &self.store).await
    }

    /// Handles every event after the checkpoint up to the end of the feed,
    /// then returns how many events it handled.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        let options = self.options_at_checkpoint().await?;
        // The cursor borrows only the store: the projection stays free.
        let mut cursor = FeedCursor::new(&self.store, &options);
        let mut handled = 0;
        loop {
            let before = cursor.position();
            let page = cursor
                .read_page(&self.store)
                .await
                .map_err(|e| self.store_error(e))?;
            let through = cursor.position();
            if through == before {
                return Ok(handled);
            }
            handled += self.commit(&page, through).await?;
        }
    }

    /// Catches up, then follows new events until an error stops it. Stop
    /// it by dropping the future (or aborting its task): the checkpoint is
    /// never ahead of what the projection handled.
    ///
    /// A [transient](ProjectionError::is_transient) store error (the
    /// database restarting, a lost connection) does not stop it: it pauses
    /// ([`Recovery`]) and carries on from the checkpoint. Any other error
    /// ends it.
    pub async fn run(&mut self) -> Result<Infallible, ProjectionError> {
        let mut recovery = Recovery::new();
        loop {
            let Err(error) = self.follow().await;
            recovery.recover(error).await?;
        }
    }

    /// Catches up from the checkpoint, then follows new events until an
    /// error stops it.
    async fn follow(&mut self) -> Result<Infallible, ProjectionError> {
        let options = self.options_at_checkpoint().await?;
        // The cursor borrows only the store: the projection stays free.
        let mut cursor = FeedCursor::new(&self.store, &options);
        loop {
            let before = cursor.position();
            let page = cursor
                .read_page(&self.store)
                .await
                .map_err(|e| self.store_error(e))?;
            let through = cursor.position();
            // A sparse filter may move the checkpoint with no event to
            // handle: it moves all the same.
            if through != before {
                self.commit(&page, through).await?;
            }
            if cursor.is_caught_up() {
                cursor.wait().await;
            }
        }
    }

    /// Lets the projection clear its read model, forgets the checkpoint,
    /// and replays the feed from the start. Returns how many events it
    /// handled. A projection that does not write its `reset` is refused
    /// ([`ResetNotWritten`]) and keeps its checkpoint.
    pub async fn rebuild(&mut self) -> Result<u64, ProjectionError> {
        self.projection
            .reset()
            .await
            .map_err(|source| ProjectionError::Reset {
                projection: self.projection.name().to_owned(),
                source,
            })?;
        self.store
            .delete_checkpoint(self.projection.name())
            .await
            .map_err(|e| self.store_error(e))?;
        self.catch_up().await
    }

    /// Handles one page by the runner's policies; the number handled.
    async fn commit(
        &mut self,
        page: &[RecordedEvent],
        through: GlobalPosition,
    ) -> Result<u64, ProjectionError> {
        let mut committer = Committer {
            store: &self.store,
            projection: &mut self.projection,
            upcasters: self.options.upcasters(),
        };
        match commit_page(&mut committer, self.retry, self.on_failure, page, through).await? {
            PageOutcome::Committed(n) => Ok(n),
            // Nothing else moves this runner's checkpoint.
            PageOutcome::Moved => Ok(0),
        }
    }

    /// Feed options starting at the checkpoint, through the projection's
    /// filter (which the store evaluates, unless upcasters come first).
    async fn options_at_checkpoint(&self) -> Result<SubscriptionOptions, ProjectionError> {
        let after = self.checkpoint().await?.unwrap_or(GlobalPosition::START);
        Ok(self
            .options
            .clone()
            .with_after(after)
            .with_filter(self.projection.filter()))
    }

    fn store_error(&self, source: Error) -> ProjectionError {
        ProjectionError::Store {
            projection: self.projection.name().to_owned(),
            source,
        }
    }
}

/// A runner's single tries, at least once: events are handled one by one,
/// the checkpoint saved after them.
struct Committer<'a, S, P> {
    store: &'a S,
    projection: &'a mut P,
    upcasters: &'a Upcasters,
}

#[async_trait]
impl<S: EventStore, P: Projection> PageCommit for Committer<'_, S, P> {
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
        let filter = self.projection.filter();
        let mut handled = 0;
        for (index, stored) in page.iter().enumerate() {
            let handling = async {
                let today = self.upcasters.upcast(stored)?;
                for event in today.iter().filter(|e| filter.matches(e)) {
                    self.projection.handle(event).await?;
                    handled += 1;
                }
                Ok::<_, BoxError>(())
            };
            if let Err(source) = handling.await {
                // What was handled stays handled: the checkpoint covers it.
                if let Some(before) = index.checked_sub(1).and_then(|i| page.get(i)) {
                    save_checkpoint(self.store, self.projection.name(), before.position).await?;
                }
                return Err(PageFailure::Handler {
                    index,
                    kept: index,
                    handled,
                    source,
                });
            }
        }
        save_checkpoint(self.store, self.projection.name(), through).await?;
        Ok(PageOutcome::Committed(handled))
    }

    async fn try_park(
        &mut self,
        parked: &ParkedEvent,
        event: &RecordedEvent,
    ) -> Result<PageOutcome, Error> {
        self.store.park_event(parked).await?;
        self.store
            .save_checkpoint(self.projection.name(), event.position)
            .await?;
        Ok(PageOutcome::Committed(0))
    }

    async fn try_replay(&mut self, stored: &RecordedEvent) -> Result<(), PageFailure> {
        let filter = self.projection.filter();
        let handling = async {
            for event in self
                .upcasters
                .upcast(stored)?
                .iter()
                .filter(|e| filter.matches(e))
            {
                self.projection.handle(event).await?;
            }
            Ok::<_, BoxError>(())
        };
        handling.await.map_err(|source| PageFailure::Handler {
            index: 0,
            kept: 0,
            handled: 0,
            source,
        })?;
        let event = stored;
        self.store
            .unpark_event(self.projection.name(), event.position)
            .await
            .map_err(PageFailure::Store)?;
        Ok(())
    }
}

/// Saves `position` as `name`'s checkpoint.
async fn save_checkpoint<S: EventStore>(
    store: &S,
    name: &str,
    position: GlobalPosition,
) -> Result<(), PageFailure> {
    store
        .save_checkpoint(name, position)
        .await
        .map_err(PageFailure::Store)
}
