#![doc = include_str!("guide.md")]

pub use factum_core::*;

mod open;
mod store;

pub mod porting;

/// The attribute that implementations of factum's async traits
/// ([`Projection`], [`TransactionalProjection`], [`EventAppender`], ...)
/// carry: `#[factum::async_trait]`, with no dependency of your own.
pub use async_trait::async_trait;

/// The extension traits that the streams of [`Subscribe::subscribe`] and
/// [`EventReader::read_stream_events`] are used through (`next().await`,
/// `try_collect()`), with no dependency of your own.
pub use futures::{StreamExt, TryStreamExt};

/// The serde_json of [`Upcasters`]: an upcaster rewrites a
/// `serde_json::Value` ([`Upcasted::payload`]), built with
/// `factum::serde_json::json!`, with no dependency of your own.
pub use serde_json;

/// The chrono of [`RecordedEvent::recorded_at`], [`Snapshot::taken_at`] and
/// [`ParkedEvent::parked_at`]; a test sets a time with it
/// ([`testing::RecordedEventBuilder::with_recorded_at`]).
pub use chrono;

/// The uuid of [`RecordedEvent::event_id`] and [`EventData::event_id`]
/// ([`testing::RecordedEventBuilder::with_event_id`]).
pub use uuid;

pub use open::{OpenOptions, open, open_store_with, open_with};
pub use store::Store;

/// The in-memory backend.
#[cfg(feature = "memory")]
pub use factum_memory as memory;

/// The SQLite backend: the embedded, zero-setup default.
#[cfg(feature = "sqlite")]
pub use factum_sqlite as sqlite;

/// The PostgreSQL backend.
#[cfg(feature = "postgres")]
pub use factum_postgres as postgres;

/// NATS JetStream: the subject and the message envelope (headers and body)
/// of an event, and back.
#[cfg(feature = "nats")]
pub use factum_nats as nats;

// The derives live in the macro namespace, beside the same-named traits.
#[cfg(feature = "macros")]
pub use factum_macros::{CorrelatedSet, DomainEvent, InjectableEvent};
