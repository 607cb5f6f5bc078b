//! The write side: an [`Aggregate`] decides (`handle`) and evolves
//! (`apply`), purely; a [`Repository`] loads it, runs commands, appends the
//! events and retries on conflict. A [`Decision`] does the same on facts
//! spread over several streams, selected by a query, and a [`Decider`]
//! runs it with conditional appends.

mod decider;
mod decision;
mod given;
mod logic;
mod outcome;
mod repository;
mod retries;

pub use decider::{Decider, DecisionExecuted, DecisionState};
pub use decision::{Decided, Decision};
pub use given::{AggregateOutcome, AggregateTest};
pub use logic::Aggregate;
pub use outcome::{ExecuteError, Executed, Loaded};
pub use repository::{Repository, SnapshotPolicy};
