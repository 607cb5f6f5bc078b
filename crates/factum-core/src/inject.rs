//! Idempotent injection of correlated events (`docs/design.md`, section 7,
//! "Idempotent injection"): [`InjectableEvent`], [`CorrelatedSet`], and the
//! store methods of [`InjectEvents`].

use std::time::Duration;

use async_trait::async_trait;

use crate::backend::Backoff;
use crate::correlation::CorrelationStatus;

use crate::{
    Codec, DomainEvent, Error, EventOutcome, EventStore, GlobalPosition, Json, Metadata,
    ReadOptions, RecordedEvent, Result, StreamId,
};

/// A family of correlated events (a transfer's request and its response):
/// each correlation group of the family is one stream, named
/// `"{PREFIX}-{key}"`. Derive it with `#[derive(CorrelatedSet)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a CorrelatedSet",
    note = "derive it with `#[derive(factum::CorrelatedSet)]`, optionally with `#[es(prefix = \"...\")]`"
)]
pub trait CorrelatedSet: Send + Sync + 'static {
    /// The prefix of every correlation id of the family, e.g. `"Transfer"`.
    const PREFIX: &'static str;
}

/// An event that carries its own idempotency key and correlation id, so that
/// injecting it again is harmless. Derive it with
/// `#[derive(InjectableEvent)]`.
pub trait InjectableEvent: DomainEvent {
    /// The family of correlated events this one belongs to.
    type Set: CorrelatedSet;
    /// What the correlation group must look like before injection.
    const STATUS: CorrelationStatus;
    /// `"{EventType}-{field}-{field}..."`: equal for retries of one event.
    fn idempotency_key(&self) -> String;
    /// `"{PREFIX}-{field}..."`: names the correlation group (its stream).
    fn correlation_id(&self) -> String;
}

/// What an injection did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectStatus {
    /// The event was written at this position.
    Injected {
        /// Where it was written.
        position: GlobalPosition,
    },
    /// The same event was injected before; nothing was written.
    Duplicate {
        /// Where the original is.
        position: GlobalPosition,
    },
}

impl InjectStatus {
    /// The position of the event, or of its original.
    pub fn position(self) -> GlobalPosition {
        match self {
            Self::Injected { position } | Self::Duplicate { position } => position,
        }
    }
}

/// An injected event waiting for the next event of its correlation group
/// (the response to a request). See
/// [`InjectEvents::idempotent_inject_event_and_wait`].
#[derive(Debug)]
pub struct AwaitResponse<'a, S: ?Sized> {
    store: &'a S,
    group: StreamId,
    after_version: u64,
    /// What the injection did.
    pub status: InjectStatus,
}

impl<S: EventStore + ?Sized> AwaitResponse<'_, S> {
    /// Waits until an event follows the injected one in its correlation
    /// group, and returns it; fails with [`Error::Timeout`] after `timeout`.
    /// When the injection was a duplicate and the response already exists,
    /// it returns at once.
    pub async fn response(self, timeout: Duration) -> Result<RecordedEvent> {
        let options = ReadOptions::all()
            .with_from_version(self.after_version + 1)
            .with_limit(1);
        let mut backoff = Backoff::new(timeout);
        loop {
            if let Some(next) = self.store.read_stream(&self.group, options).await?.pop() {
                return Ok(next);
            }
            if !backoff.pause().await {
                return Err(Error::Timeout {
                    waiting_for: format!(
                        "a response in correlation group {} after version {}",
                        self.group, self.after_version
                    ),
                    timeout,
                });
            }
        }
    }
}

/// Idempotent injection, for every store.
#[async_trait]
pub trait InjectEvents: EventStore {
    /// Appends `event` to its correlation group (the stream named by its
    /// correlation id) with its idempotency key, after checking the group's
    /// status. Injecting the same event again writes nothing and returns
    /// [`InjectStatus::Duplicate`]; a failed status check writes nothing and
    /// fails with [`Error::CorrelationStatus`].
    async fn idempotent_inject_event<E: InjectableEvent>(&self, event: &E) -> Result<InjectStatus> {
        Ok(inject(self, event).await?.0)
    }

    /// Injects like [`idempotent_inject_event`](Self::idempotent_inject_event)
    /// and returns a handle that waits for the next event of the same
    /// correlation group (request/response).
    async fn idempotent_inject_event_and_wait<Set, E>(
        &self,
        event: &E,
    ) -> Result<AwaitResponse<'_, Self>>
    where
        Set: CorrelatedSet,
        E: InjectableEvent<Set = Set>,
    {
        let (status, group, after_version) = inject(self, event).await?;
        Ok(AwaitResponse {
            store: self,
            group,
            after_version,
            status,
        })
    }
}

impl<S: EventStore + ?Sized> InjectEvents for S {}

/// Injects and returns the status, the group and the event's version in it.
async fn inject<S: EventStore + ?Sized, E: InjectableEvent>(
    store: &S,
    event: &E,
) -> Result<(InjectStatus, StreamId, u64)> {
    let correlation_id = event.correlation_id();
    let group = StreamId::new(&correlation_id)?;
    let data = Json
        .encode(event)?
        .with_idempotency_key(event.idempotency_key())
        .with_metadata(Metadata::default().with_correlation_id(correlation_id));
    let expected = E::STATUS.expected_version();
    let result = match store.append(&group, expected, vec![data]).await {
        Err(Error::VersionConflict { stream, actual, .. }) => {
            return Err(Error::CorrelationStatus {
                group: stream,
                expected: E::STATUS,
                events: actual,
            });
        }
        other => other?,
    };
    match result.events.into_iter().next() {
        Some(EventOutcome::Written {
            position,
            stream_version,
        }) => Ok((InjectStatus::Injected { position }, group, stream_version)),
        Some(EventOutcome::Duplicate {
            position,
            stream_version,
            stream_id,
        }) => Ok((
            InjectStatus::Duplicate { position },
            stream_id,
            stream_version,
        )),
        None => Err(Error::backend(
            "core",
            format!("injecting into correlation group {group}"),
            "the backend reported no outcome for the event",
        )),
    }
}
