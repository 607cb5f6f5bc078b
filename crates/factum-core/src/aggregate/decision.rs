//! [`Decision`]: domain logic whose facts are spread over several streams
//! (the Dynamic Consistency Boundary model), written as pure functions like
//! an [`Aggregate`](super::Aggregate), and [`Decided`], an event it decides
//! with the stream it goes to.

use crate::codec::DomainEvent;
use crate::{EventQuery, StreamId, Tag};

/// A decision made on facts that no one stream holds: a course's capacity
/// and its students' subscriptions, a user name claimed by any user, the
/// balance of an account that transfers write to from several streams.
///
/// Its state is folded ([`apply`](Self::apply)) from the events its
/// [`query`](Self::query) selects, in any stream; [`decide`](Self::decide)
/// turns a command into events, purely. A [`Decider`](super::Decider) reads
/// the query, folds, decides, and appends the events under the condition
/// that no event matching the query was stored meanwhile, reading and
/// deciding again when one was: the decision holds even with others
/// racing it, without a stream of its own and without locking the store.
///
/// ```
/// use factum_core::aggregate::{Decided, Decision};
/// use factum_core::{DomainEvent, EventQuery, QueryItem, StreamId, Tag};
///
/// #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
/// struct NameClaimed { name: String, user: String }
/// impl DomainEvent for NameClaimed {
///     const EVENT_TYPES: &'static [&'static str] = &["NameClaimed"];
///     fn event_type(&self) -> &'static str { "NameClaimed" }
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("the name {0} is taken")]
/// struct Taken(String);
///
/// /// A user name is claimed once, whoever claims it.
/// #[derive(Default)]
/// struct UniqueName { taken: bool }
///
/// fn name_tag(name: &str) -> Tag {
///     Tag::new(format!("username:{name}")).expect("names hold no whitespace")
/// }
///
/// impl Decision for UniqueName {
///     type Command = NameClaimed;
///     type Event = NameClaimed;
///     type Error = Taken;
///
///     fn query(claim: &NameClaimed) -> EventQuery {
///         EventQuery::item(QueryItem::types(["NameClaimed"]).with_tag(name_tag(&claim.name)))
///     }
///     fn apply(&mut self, _: &NameClaimed) {
///         self.taken = true;
///     }
///     fn decide(&self, claim: &NameClaimed) -> Result<Vec<Decided<NameClaimed>>, Taken> {
///         if self.taken {
///             return Err(Taken(claim.name.clone()));
///         }
///         let stream = StreamId::new(format!("user-{}", claim.user)).expect("valid id");
///         Ok(vec![Decided::new(stream, claim.clone())])
///     }
///     fn tags(claim: &NameClaimed) -> Vec<Tag> {
///         vec![name_tag(&claim.name)]
///     }
/// }
/// ```
pub trait Decision: Default + Send + Sync + 'static {
    /// What is asked for.
    type Command: Clone + Send + Sync;
    /// The events the decision reads and writes.
    type Event: DomainEvent + Send + Sync;
    /// Why a command is refused.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The events the decision on `command` depends on. Every event it
    /// selects must decode as [`Event`](Self::Event).
    fn query(command: &Self::Command) -> EventQuery;

    /// Folds one of the query's events into the state; cannot fail.
    fn apply(&mut self, event: &Self::Event);

    /// Decides which events `command` causes, from the state alone (no
    /// clock, no I/O), each with the stream it is appended to.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Decided<Self::Event>>, Self::Error>;

    /// The tags `event` is written with, so that queries (this decision's
    /// and others') find it: what the event is about, such as
    /// `course:rust-101` and `student:7`.
    fn tags(event: &Self::Event) -> Vec<Tag>;
}

/// An event a [`Decision`] decided, and the stream it is appended to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided<E> {
    /// The stream the event goes to.
    pub stream: StreamId,
    /// The event.
    pub event: E,
}

impl<E> Decided<E> {
    /// `event`, to be appended to `stream`.
    pub fn new(stream: StreamId, event: E) -> Self {
        Self { stream, event }
    }
}
