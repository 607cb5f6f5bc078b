//! The write side: an [`Aggregate`] decides (`handle`) and evolves
//! (`apply`), purely; a [`Repository`] loads it, runs commands, appends the
//! events and retries on conflict.

mod given;
mod logic;
mod outcome;
mod repository;

pub use given::{AggregateOutcome, AggregateTest};
pub use logic::Aggregate;
pub use outcome::{ExecuteError, Executed, Loaded};
pub use repository::{Repository, SnapshotPolicy};
