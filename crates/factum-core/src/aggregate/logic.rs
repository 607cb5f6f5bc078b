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
    /// The stream category, e.g. `"account"`.
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
