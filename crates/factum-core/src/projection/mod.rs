//! Read models: a [`Projection`] handles events; a [`ProjectionRunner`]
//! feeds it from the global feed and keeps its checkpoint. A
//! [`TransactionalProjection`] keeps its read model in the store's own
//! database, where the SQL backends' runners commit it with the checkpoint.
//!
//! What every runner shares lives here once: the [`RetryPolicy`] for a
//! failing handler, the [`FailurePolicy`] once retries run out (stop, or
//! [park](ParkedEvent) the event and go on), and [`ProjectionError`].

mod error;
mod lag;
mod page;
mod parked;
mod retry;
mod runner;
mod transactional;

pub use error::{ProjectionError, ResetNotWritten};
pub use lag::Lag;
pub use page::{PageCommit, PageFailure, PageOutcome, ParkedReplay, commit_page, replay_parked};
pub use parked::{FailurePolicy, ParkedEvent};
pub use retry::{HandlerRetries, RetryPolicy};
pub use runner::{Projection, ProjectionRunner};
pub use transactional::TransactionalProjection;
