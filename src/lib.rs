#![doc = include_str!("guide.md")]

pub use factum_core::*;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod open;

pub mod porting;

pub use open::{OpenOptions, open, open_with};

/// The in-memory backend.
#[cfg(feature = "memory")]
pub use factum_memory as memory;

/// The SQLite backend: the embedded, zero-setup default.
#[cfg(feature = "sqlite")]
pub use factum_sqlite as sqlite;

/// The PostgreSQL backend.
#[cfg(feature = "postgres")]
pub use factum_postgres as postgres;

// The derives live in the macro namespace, beside the same-named traits.
#[cfg(feature = "macros")]
pub use factum_macros::{CorrelatedSet, DomainEvent, InjectableEvent};
