//! factum: event sourcing for Rust.
//!
//! An event store you embed: append events to streams with optimistic
//! concurrency, read them back, fold them into aggregates, feed read models.
//! This crate re-exports `factum-core` and the backends chosen by features.
//!
//! # Streams, versions, positions
//!
//! Events live in streams ([`StreamId`]); each event has a version in its
//! stream (1, 2, 3…) and a [`GlobalPosition`] in the feed of all events. An
//! append says which version it expects ([`ExpectedVersion`]); a stale
//! expectation fails with [`Error::VersionConflict`] and writes nothing.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> factum::Result<()> {
//! use factum::memory::MemoryStore;
//! use factum::{Error, EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, StreamId};
//!
//! let store = MemoryStore::new();
//! let cart = StreamId::new("cart-1")?;
//! let added = || EventData::json("ItemAdded", br#"{"sku":"apple"}"#.to_vec());
//!
//! store.append(&cart, ExpectedVersion::NoStream, vec![added(), added()]).await?;
//! let stale = store.append(&cart, ExpectedVersion::Exact(1), vec![added()]).await;
//! assert!(matches!(stale, Err(Error::VersionConflict { actual: Some(2), .. })));
//!
//! let feed = store.read_all(GlobalPosition::START, 10).await?;
//! assert_eq!(feed.len(), 2);
//! # Ok(()) }
//! ```
//!
//! # Aggregates
//!
//! An [`aggregate::Aggregate`] is two pure functions: `handle` decides which
//! events a command causes, `apply` folds an event into the state. A
//! [`aggregate::Repository`] loads, handles, appends and retries on conflict.
//! `examples/bank.rs` is a complete account.
//!
//! # Idempotency and correlation
//!
//! An event with an idempotency key is written once, however often it is
//! retried ([`EventOutcome::Duplicate`] tells you where the original is).
//! [`InjectEvents::idempotent_inject_event`] builds on this for
//! request/response flows whose events carry their own keys
//! ([`InjectableEvent`]).

pub use factum_core::*;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod open;

pub use open::open;

/// The in-memory backend.
#[cfg(feature = "memory")]
pub use factum_memory as memory;

/// The SQLite backend: the embedded, zero-setup default.
#[cfg(feature = "sqlite")]
pub use factum_sqlite as sqlite;

// The derives live in the macro namespace, beside the same-named traits.
#[cfg(feature = "macros")]
pub use factum_macros::{CorrelatedSet, DomainEvent, InjectableEvent};
