//! [`Aggregate`]: the domain logic of one kind of entity.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::DomainEvent;

/// Domain logic of one kind of entity, written as two pure functions.
///
/// `handle` decides which events a command causes, from the current state
/// alone (no clock, no I/O: time comes in the command); `apply` folds one
/// event into the state and cannot fail. Each instance lives in the stream
/// `"{CATEGORY}-{id}"`.
///
/// The state is serde-serializable so that it can be snapshotted; bump
/// [`SNAPSHOT_VERSION`](Self::SNAPSHOT_VERSION) when its shape changes, and
/// older snapshots are ignored.
pub trait Aggregate:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The stream category, e.g. `"account"`: instance `id` lives in the
    /// stream `"{CATEGORY}-{id}"`, whose category (the part before the
    /// first `-`) is this. So it must not be empty nor contain `-` (nor
    /// control characters, nor pass 253 bytes): a [`Repository`] or an
    /// [`AggregateTest`] of an aggregate whose category breaks that fails
    /// to compile (when built: `cargo check` does not evaluate it),
    /// "evaluation of `AggregateCategory::<SalesOrder>::CHECKED` failed",
    /// rather than file its events where a filter on the category would
    /// never see them.
    ///
    /// It must not be a [`CorrelatedSet`](crate::CorrelatedSet)'s prefix
    /// either, or the aggregate and the correlation groups would share
    /// streams: the repository and the injections refuse such a stream
    /// with [`Error::CategoryShared`](crate::Error::CategoryShared).
    ///
    /// [`Repository`]: super::Repository
    /// [`AggregateTest`]: super::AggregateTest
    const CATEGORY: &'static str;
    /// Version of the state's shape, for snapshots; 1 unless overridden.
    const SNAPSHOT_VERSION: u32 = 1;
    /// The events this aggregate emits and folds.
    type Event: DomainEvent;
    /// The commands it handles. `Clone`, because a command is handled again
    /// after a version conflict.
    type Command: Clone + Send + Sync;
    /// Why a command is refused.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Folds one event into the state.
    fn apply(&mut self, event: &Self::Event);

    /// Decides which events `command` causes, or refuses it.
    fn handle(&self, command: Self::Command) -> Result<Vec<Self::Event>, Self::Error>;
}
