//! Idempotent injection of correlated events (`docs/design.md`, section 7,
//! "Idempotent injection"): [`InjectableEvent`], [`CorrelatedSet`], and the
//! store methods of [`InjectEvents`].

mod wait;

use std::future::Future;

use crate::correlation::CorrelationStatus;
use crate::{
    Codec, DomainEvent, Error, EventData, EventOutcome, EventStore, GlobalPosition, Json, Metadata,
    Result, StreamId,
};

pub use wait::{AwaitResponse, InjectAndWait};

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
/// `#[derive(InjectableEvent)]`, which implements [`DomainEvent`] too.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an InjectableEvent",
    note = "derive it with `#[derive(factum::InjectableEvent)]` (and serde's Serialize, Deserialize), which implements `DomainEvent` too"
)]
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

/// An injectable event `E`, or a reference to one: what the methods of
/// [`InjectEvents`] take, so that `inject(event)` and `inject(&event)` both
/// compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an injectable event, nor a reference to one",
    note = "derive `factum::InjectableEvent` on the event's type"
)]
pub trait EventOrRef<E> {
    /// The event.
    fn event(&self) -> &E;
}

impl<E: InjectableEvent> EventOrRef<E> for E {
    fn event(&self) -> &E {
        self
    }
}

impl<E: InjectableEvent> EventOrRef<E> for &E {
    fn event(&self) -> &E {
        self
    }
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

/// Idempotent injection, for every store.
pub trait InjectEvents: EventStore {
    /// Appends `event` (given by value or by reference) to its correlation
    /// group (the stream named by its correlation id) with its idempotency
    /// key, after checking the group's status. Injecting the same event
    /// again writes nothing and returns [`InjectStatus::Duplicate`]; a
    /// failed status check writes nothing and fails with
    /// [`Error::CorrelationStatus`].
    fn idempotent_inject_event<E: InjectableEvent>(
        &self,
        event: impl EventOrRef<E>,
    ) -> impl Future<Output = Result<InjectStatus>> + Send + '_ {
        let prepared = Prepared::of(event.event());
        async move { Ok(prepared?.write(self).await?.status) }
    }

    /// Starts injecting `event` like
    /// [`idempotent_inject_event`](Self::idempotent_inject_event), in the
    /// background, and returns at once (no `.await` needed) a handle on the
    /// injection and on the next event of the same correlation group, the
    /// response (request/response). `Set` is the event's
    /// [`CorrelatedSet`], whose group the response joins.
    ///
    /// The injection goes on whether or not the handle is kept: a feed
    /// wait such as `store.poll().await_count(n)` sees it commit. Awaiting
    /// the handle gives the injection's outcome ([`AwaitResponse`]);
    /// [`InjectAndWait::response`] waits for the response too. The store
    /// is cloned into the background task, so it must be `Clone + 'static`:
    /// every store of factum is, in an `Arc` (as `factum::open` returns
    /// it) or by itself. Outside a tokio runtime the handle reports an
    /// error instead.
    fn idempotent_inject_event_and_wait<Set, E>(
        &self,
        event: impl EventOrRef<E>,
    ) -> InjectAndWait<Self>
    where
        Self: Clone + Sized + 'static,
        Set: CorrelatedSet,
        E: InjectableEvent<Set = Set>,
    {
        InjectAndWait::start(self.clone(), Prepared::of(event.event()))
    }
}

impl<S: EventStore + ?Sized> InjectEvents for S {}

/// An injection encoded and ready to write: the event no longer needs to
/// be borrowed.
#[derive(Debug)]
struct Prepared {
    /// The correlation group.
    group: StreamId,
    /// The event, with its key and correlation id.
    data: EventData,
    /// What the group must look like.
    status: CorrelationStatus,
}

/// What a written injection did: its status, its group and its version
/// there.
#[derive(Debug)]
struct Written {
    status: InjectStatus,
    group: StreamId,
    version: u64,
}

impl Prepared {
    /// Encodes `event` (JSON, with its key, and its correlation id in the
    /// metadata) for its group.
    fn of<E: InjectableEvent>(event: &E) -> Result<Self> {
        let correlation_id = event.correlation_id();
        let group = StreamId::new(&correlation_id)?;
        let data = Json
            .encode(event)?
            .with_idempotency_key(event.idempotency_key())
            .with_metadata(Metadata::default().with_correlation_id(correlation_id));
        Ok(Self {
            group,
            data,
            status: E::STATUS,
        })
    }

    /// Appends the event to its group, checking the group's status.
    async fn write<S: EventStore + ?Sized>(self, store: &S) -> Result<Written> {
        let Self {
            group,
            data,
            status,
        } = self;
        let result = match store
            .append(&group, status.expected_version(), vec![data])
            .await
        {
            Err(Error::VersionConflict { stream, actual, .. }) => {
                return Err(Error::CorrelationStatus {
                    group: stream,
                    expected: status,
                    events: actual,
                });
            }
            other => other?,
        };
        match result.events.into_iter().next() {
            Some(EventOutcome::Written {
                position,
                stream_version,
            }) => Ok(Written {
                status: InjectStatus::Injected { position },
                group,
                version: stream_version,
            }),
            Some(EventOutcome::Duplicate {
                position,
                stream_version,
                stream_id,
            }) => Ok(Written {
                status: InjectStatus::Duplicate { position },
                group: stream_id,
                version: stream_version,
            }),
            None => Err(Error::backend(
                "core",
                format!("injecting into correlation group {group}"),
                "the backend reported no outcome for the event",
            )),
        }
    }
}
