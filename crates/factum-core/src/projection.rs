//! Read models: a [`Projection`] handles events; a [`ProjectionRunner`]
//! feeds it from the global feed and keeps its checkpoint.

use std::convert::Infallible;
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::Recovery;

use crate::{
    BoxError, Error, EventFilter, EventStore, FeedCursor, GlobalPosition, RecordedEvent,
    SubscriptionOptions,
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

    /// Clears the read model before a rebuild; does nothing by default.
    async fn reset(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

/// How often and how patiently a failing handler is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per event, the first included.
    pub max_attempts: u32,
    /// Pause after the first failure; doubles after each further one.
    pub first_backoff: Duration,
    /// Longest pause.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Why a projection stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The handler kept failing on one event; the checkpoint stays before it.
    #[error(
        "projection {projection} stopped at event {position} ({event_type} in stream {stream}) after {attempts} attempts: {source}"
    )]
    Handler {
        /// The projection's name.
        projection: String,
        /// The failing event's position.
        position: GlobalPosition,
        /// Its stream.
        stream: String,
        /// Its type.
        event_type: String,
        /// How many times it was tried.
        attempts: u32,
        /// The handler's last error.
        #[source]
        source: BoxError,
    },
    /// Resetting the read model failed.
    #[error("projection {projection} could not reset its read model: {source}")]
    Reset {
        /// The projection's name.
        projection: String,
        /// The error.
        #[source]
        source: BoxError,
    },
    /// The store failed (reading the feed or saving the checkpoint).
    #[error("projection {projection}: {source}")]
    Store {
        /// The projection's name.
        projection: String,
        /// The error.
        #[source]
        source: Error,
    },
}

impl ProjectionError {
    /// Whether the error is a [transient](Error::is_transient) store error,
    /// which runners retry by themselves.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store { source, .. } if source.is_transient())
    }
}

/// How far behind the feed a projection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// The last position the projection handled.
    pub checkpoint: Option<GlobalPosition>,
    /// The newest position in the feed.
    pub head: Option<GlobalPosition>,
}

impl Lag {
    /// Reads the checkpoint saved under `checkpoint` and the feed's head.
    pub async fn read<S: EventStore + ?Sized>(store: &S, checkpoint: &str) -> Result<Self, Error> {
        Ok(Self {
            checkpoint: store.load_checkpoint(checkpoint).await?,
            head: store.head_position().await?,
        })
    }

    /// Whether the projection has handled everything in the feed.
    pub fn caught_up(&self) -> bool {
        self.head.is_none() || self.checkpoint >= self.head
    }
}

/// Feeds a projection from a store's global feed, in order, saving its
/// checkpoint after each page of events.
pub struct ProjectionRunner<S, P> {
    store: S,
    projection: P,
    retry: RetryPolicy,
    options: SubscriptionOptions,
}

impl<S: EventStore, P: Projection> ProjectionRunner<S, P> {
    /// A runner with the default retry policy and feed options.
    pub fn new(store: S, projection: P) -> Self {
        Self {
            store,
            projection,
            retry: RetryPolicy::default(),
            options: SubscriptionOptions::default(),
        }
    }

    /// Retries a failing handler by `retry`.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
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

    /// Handles every event after the checkpoint up to the end of the feed,
    /// then returns how many events it handled.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        let options = self.options_at_checkpoint().await?;
        // The cursor borrows only the store: the projection stays free.
        let mut cursor = FeedCursor::new(&self.store, &options);
        let mut handled = 0;
        loop {
            let page = cursor
                .read_page(&self.store)
                .await
                .map_err(|e| store_error(&self.projection, e))?;
            if page.is_empty() {
                return Ok(handled);
            }
            handled += handle_page(&self.store, &mut self.projection, &self.retry, page).await?;
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
            let page = cursor
                .next_page(&self.store)
                .await
                .map_err(|e| store_error(&self.projection, e))?;
            handle_page(&self.store, &mut self.projection, &self.retry, page).await?;
        }
    }

    /// Forgets the checkpoint, lets the projection clear its read model, and
    /// replays the feed from the start. Returns how many events it handled.
    pub async fn rebuild(&mut self) -> Result<u64, ProjectionError> {
        self.store
            .delete_checkpoint(self.projection.name())
            .await
            .map_err(|e| self.store_error(e))?;
        self.projection
            .reset()
            .await
            .map_err(|source| ProjectionError::Reset {
                projection: self.projection.name().to_owned(),
                source,
            })?;
        self.catch_up().await
    }

    /// Feed options starting at the checkpoint.
    async fn options_at_checkpoint(&self) -> Result<SubscriptionOptions, ProjectionError> {
        let after = self.checkpoint().await?.unwrap_or(GlobalPosition::START);
        Ok(self.options.clone().with_after(after))
    }

    fn store_error(&self, source: Error) -> ProjectionError {
        store_error(&self.projection, source)
    }
}

fn store_error<P: Projection>(projection: &P, source: Error) -> ProjectionError {
    ProjectionError::Store {
        projection: projection.name().to_owned(),
        source,
    }
}

/// Handles the wanted events of a page, then saves the page's last position
/// as the checkpoint.
async fn handle_page<S: EventStore, P: Projection>(
    store: &S,
    projection: &mut P,
    retry: &RetryPolicy,
    page: Vec<RecordedEvent>,
) -> Result<u64, ProjectionError> {
    let filter = projection.filter();
    let mut handled = 0;
    for event in page.iter().filter(|e| filter.matches(e)) {
        handle_with_retry(projection, retry, event).await?;
        handled += 1;
    }
    if let Some(last) = page.last() {
        store
            .save_checkpoint(projection.name(), last.position)
            .await
            .map_err(|e| store_error(projection, e))?;
    }
    Ok(handled)
}

async fn handle_with_retry<P: Projection>(
    projection: &mut P,
    retry: &RetryPolicy,
    event: &RecordedEvent,
) -> Result<(), ProjectionError> {
    let mut backoff = retry.first_backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match projection.handle(event).await {
            Ok(()) => return Ok(()),
            Err(source) if attempts >= retry.max_attempts => {
                return Err(ProjectionError::Handler {
                    projection: projection.name().to_owned(),
                    position: event.position,
                    stream: event.stream_id.to_string(),
                    event_type: event.event_type.clone(),
                    attempts,
                    source,
                });
            }
            Err(e) => {
                tracing::warn!(projection = projection.name(), position = %event.position, error = %e, attempts, "projection handler failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(retry.max_backoff);
            }
        }
    }
}
