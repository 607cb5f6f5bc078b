//! Idempotent injection of correlated events (`docs/design.md`, section 7,
//! "Idempotent injection"): [`InjectableEvent`], [`CorrelatedSet`], and the
//! store methods of [`InjectEvents`].

mod wait;
mod write;

use std::future::Future;

use uuid::Uuid;

use crate::correlation::CorrelationStatus;
use crate::{DomainEvent, EventStore, GlobalPosition, RecordedEvent, Result};

pub use wait::{AwaitResponse, InjectAndWait};
use write::{Prepared, Written};

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

    /// This event, injected as caused by `cause`: it carries the cause's
    /// event id as its causation id. Without it, an event joining an
    /// existing group (a response) carries the event that opened the group
    /// (its request); one opening a group carries none. Its correlation id
    /// is its group's name either way.
    ///
    /// ```no_run
    /// # use factum_core::*;
    /// # async fn respond<E: InjectableEvent>(store: &dyn EventStore, credited: &RecordedEvent, answer: E) -> Result<()> {
    /// store.idempotent_inject_event(answer.caused_by(credited)).await?;
    /// # Ok(()) }
    /// ```
    fn caused_by(&self, cause: &RecordedEvent) -> CausedBy<&Self>
    where
        Self: Sized,
    {
        CausedBy {
            event: self,
            cause: cause.event_id,
        }
    }
}

/// An injectable event (or a reference to one) with the id of the event
/// that caused it, from [`InjectableEvent::caused_by`]: what the methods of
/// [`InjectEvents`] take to write that id as the causation id.
#[derive(Debug, Clone, Copy)]
pub struct CausedBy<T> {
    event: T,
    cause: Uuid,
}

/// An injectable event `E`, or a reference to one, perhaps with its cause
/// ([`CausedBy`]): what the methods of [`InjectEvents`] take, so that
/// `inject(event)`, `inject(&event)` and `inject(event.caused_by(&cause))`
/// all compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an injectable event, nor a reference to one",
    note = "derive `factum::InjectableEvent` on the event's type"
)]
pub trait EventOrRef<E> {
    /// The event.
    fn event(&self) -> &E;

    /// The id of the event that caused it, when one was given.
    fn causation_id(&self) -> Option<Uuid> {
        None
    }
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

impl<E: InjectableEvent, T: EventOrRef<E>> EventOrRef<E> for CausedBy<T> {
    fn event(&self) -> &E {
        self.event.event()
    }

    fn causation_id(&self) -> Option<Uuid> {
        Some(self.cause)
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
    /// [`Error::CorrelationStatus`](crate::Error::CorrelationStatus).
    ///
    /// The event's metadata holds its group's name as correlation id and,
    /// as causation id, the event given with
    /// [`caused_by`](InjectableEvent::caused_by), else, when it joins an
    /// existing group (a response), the event that opened the group (its
    /// request). A group whose stream holds an aggregate's events (the
    /// set's prefix is also an aggregate's category) is refused with
    /// [`Error::CategoryShared`](crate::Error::CategoryShared), writing
    /// nothing. Building code that injects into the set `S` checks
    /// `S::PREFIX` at compile time, as [`Aggregate::CATEGORY`](crate::aggregate::Aggregate::CATEGORY) is.
    fn idempotent_inject_event<E: InjectableEvent>(
        &self,
        event: impl EventOrRef<E>,
    ) -> impl Future<Output = Result<InjectStatus>> + Send + '_ {
        let prepared = Prepared::of(&event);
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
        InjectAndWait::start(self.clone(), Prepared::of(&event))
    }
}

impl<S: EventStore + ?Sized> InjectEvents for S {}
