//! Committing a page of the feed with the runners' shared rules: retry a
//! failing handler by the [`RetryPolicy`]; once retries run out, keep the
//! events before the failing one, then stop or park it by the
//! [`FailurePolicy`]; and handling parked events again. A runner supplies
//! one try at each step ([`PageCommit`]); [`commit_page`] and
//! [`replay_parked`] decide what to try.

use async_trait::async_trait;

use super::{FailurePolicy, HandlerRetries, ParkedEvent, ProjectionError, RetryPolicy};
use crate::{
    BoxError, CheckpointStore, Error, EventReader, GlobalPosition, ReadOptions, RecordedEvent,
};

/// What became of a page (or of a step of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOutcome {
    /// Committed; this many events were handed to the handler.
    Committed(u64),
    /// Not committed: the checkpoint is no longer where the runner found it
    /// (another runner or a rebuild moved it), or the runner lost its
    /// lease. Read the checkpoint again.
    Moved,
}

/// Why one try of a page failed.
#[derive(Debug)]
pub enum PageFailure {
    /// The handler failed on `page[index]`.
    Handler {
        /// The failing event's index in the page tried.
        index: usize,
        /// How many events at the front of the page are done for good
        /// (handled and covered by the checkpoint) despite the failure: 0
        /// where the page is one transaction, up to `index` where events are
        /// handled one by one.
        kept: usize,
        /// How many of those `kept` events were handed to the handler.
        handled: u64,
        /// The handler's error.
        source: BoxError,
    },
    /// The store failed.
    Store(Error),
}

/// One runner's single tries: what [`commit_page`] and [`replay_parked`]
/// drive. For runners; a projection needs none of it.
#[async_trait]
pub trait PageCommit: Send {
    /// The projection's name, for errors.
    fn projection_name(&self) -> &str;

    /// The name its checkpoint and parked events are stored under.
    fn checkpoint_name(&self) -> String;

    /// Hands each wanted event of `page` to the handler and moves the
    /// checkpoint to `through` (the page's last position, or further when
    /// the read looked past events a filter left out). Where the runner
    /// commits in transactions, all of it in one, undone on any failure.
    async fn try_commit(
        &mut self,
        page: &[RecordedEvent],
        through: GlobalPosition,
    ) -> Result<PageOutcome, PageFailure>;

    /// Stores `parked` and moves the checkpoint to `event` (its event),
    /// without handing it to the handler; in one transaction where the
    /// runner commits in transactions.
    async fn try_park(
        &mut self,
        parked: &ParkedEvent,
        event: &RecordedEvent,
    ) -> Result<PageOutcome, Error>;

    /// Hands a parked `event` to the handler and forgets it as parked (in
    /// one transaction where the runner commits in transactions), without
    /// moving the checkpoint.
    async fn try_replay(&mut self, event: &RecordedEvent) -> Result<(), PageFailure>;
}

/// Commits `page` by `committer`'s tries, its checkpoint moved to
/// `through` (at or after the page's last event): a failing handler is
/// tried again by `retry` (the page's remaining events again, where a
/// failure undid them); once its attempts are spent, the events before the
/// failing one are committed on their own, then by `policy` the runner
/// stops ([`ProjectionError::Handler`]) or parks the event and goes on
/// with the rest of the page.
pub async fn commit_page<C: PageCommit + ?Sized>(
    committer: &mut C,
    retry: RetryPolicy,
    policy: FailurePolicy,
    page: &[RecordedEvent],
    through: GlobalPosition,
) -> Result<PageOutcome, ProjectionError> {
    let store_error = |committer: &C, source| ProjectionError::Store {
        projection: committer.projection_name().to_owned(),
        source,
    };
    let mut retries = HandlerRetries::new(retry);
    let mut rest = page;
    let mut handled = 0;
    loop {
        let (index, source) = match committer.try_commit(rest, through).await {
            Ok(PageOutcome::Committed(n)) => return Ok(PageOutcome::Committed(handled + n)),
            Ok(PageOutcome::Moved) => return Ok(PageOutcome::Moved),
            Err(PageFailure::Store(source)) => return Err(store_error(committer, source)),
            Err(PageFailure::Handler {
                index,
                kept,
                handled: kept_handled,
                source,
            }) => {
                handled += kept_handled;
                rest = rest.get(kept..).unwrap_or_default();
                (index.saturating_sub(kept), source)
            }
        };
        let Some(event) = rest.get(index) else {
            let outside = "the handler failed on an event outside the page";
            return Err(store_error(
                committer,
                Error::backend("store", "handling a page", outside),
            ));
        };
        let given_up = match retries
            .failed(committer.projection_name(), event, source)
            .await
        {
            Ok(_) => continue,
            Err(given_up) => given_up,
        };
        // The events before the failing one are fine: commit them, so the
        // checkpoint covers them whatever the policy.
        if index > 0 {
            match committer
                .try_commit(&rest[..index], rest[index - 1].position)
                .await
            {
                Ok(PageOutcome::Committed(n)) => {
                    handled += n;
                    rest = &rest[index..];
                }
                Ok(PageOutcome::Moved) => return Ok(PageOutcome::Moved),
                Err(PageFailure::Store(source)) => return Err(store_error(committer, source)),
                // A handler that failed on an event it had handled before:
                // count that failure too, from the top.
                Err(PageFailure::Handler { .. }) => continue,
            }
        }
        let ProjectionError::Handler {
            attempts, source, ..
        } = &given_up
        else {
            return Err(given_up);
        };
        match policy {
            FailurePolicy::Stop => return Err(given_up),
            FailurePolicy::Park => {
                let Some(event) = rest.first() else {
                    return Err(given_up);
                };
                let parked =
                    ParkedEvent::new(committer.checkpoint_name(), event, source, *attempts);
                tracing::warn!(projection = committer.projection_name(), position = %event.position, error = %parked.error, "projection handler kept failing; event parked");
                match committer.try_park(&parked, event).await {
                    Ok(PageOutcome::Committed(_)) => rest = &rest[1..],
                    Ok(PageOutcome::Moved) => return Ok(PageOutcome::Moved),
                    Err(source) => return Err(store_error(committer, source)),
                }
                if rest.is_empty() && through <= event.position {
                    return Ok(PageOutcome::Committed(handled));
                }
                retries = HandlerRetries::new(retry);
            }
        }
    }
}

/// What [`replay_parked`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParkedReplay {
    /// Parked events handled this time, and so no longer parked.
    pub replayed: u64,
    /// Parked events whose handler failed again (each stays parked, with its
    /// new error and attempt count).
    pub still_parked: Vec<ParkedEvent>,
}

/// Hands every event parked under `committer`'s checkpoint name to its
/// handler again, oldest first, once each (no retries: a failure leaves
/// the event parked with the new error). Meant for after a fix; the events
/// are handled after events that followed them in the feed.
pub async fn replay_parked<C, S>(
    committer: &mut C,
    store: &S,
) -> Result<ParkedReplay, ProjectionError>
where
    C: PageCommit + ?Sized,
    S: EventReader + CheckpointStore + ?Sized,
{
    let store_error = |committer: &C, source| ProjectionError::Store {
        projection: committer.projection_name().to_owned(),
        source,
    };
    let mut report = ParkedReplay::default();
    let parked = store
        .parked_events(&committer.checkpoint_name())
        .await
        .map_err(|e| store_error(committer, e))?;
    for mut parked in parked {
        let options = ReadOptions::all()
            .with_from_version(parked.stream_version)
            .with_limit(1);
        let event = store
            .read_stream(&parked.stream_id, options)
            .await
            .map_err(|e| store_error(committer, e))?
            .into_iter()
            .find(|e| e.position == parked.position);
        let Some(event) = event else {
            let missing = format!(
                "parked event {} (version {} of stream {}) is no longer in the store",
                parked.position, parked.stream_version, parked.stream_id
            );
            return Err(store_error(
                committer,
                Error::backend("store", "replaying parked events", missing),
            ));
        };
        match committer.try_replay(&event).await {
            Ok(()) => report.replayed += 1,
            Err(PageFailure::Store(source)) => return Err(store_error(committer, source)),
            Err(PageFailure::Handler { source, .. }) => {
                parked.error = source.to_string();
                parked.attempts = parked.attempts.saturating_add(1);
                parked.parked_at = chrono::Utc::now();
                store
                    .park_event(&parked)
                    .await
                    .map_err(|e| store_error(committer, e))?;
                report.still_parked.push(parked);
            }
        }
    }
    Ok(report)
}
