//! factum: event sourcing for Rust.
pub use factum_core::*;

/// The in-memory backend.
#[cfg(feature = "memory")]
pub use factum_memory as memory;
