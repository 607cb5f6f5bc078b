//! PostgreSQL backend of factum, over sqlx.
//!
//! [`PostgresStore`] implements every store trait of `factum_core`
//! ([`EventStore`](factum_core::EventStore)) and keeps the seven guarantees
//! of `docs/design.md` (section 4), which the conformance suite checks:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use factum_core::{EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamId};
//! use factum_postgres::{PostgresOptions, PostgresStore};
//! # let db = factum_postgres::testing::TestSchema::create().await?;
//! # let (url, schema) = (db.url().to_owned(), db.schema().clone());
//!
//! // Connecting applies the schema (the migrations not applied yet).
//! let store = PostgresStore::connect_with(&url, PostgresOptions::default().with_schema(schema)).await?;
//!
//! let cart = StreamId::new("cart-1")?;
//! let added = EventData::json("ItemAdded", br#"{"sku":"a-1"}"#.to_vec());
//! store.append(&cart, ExpectedVersion::NoStream, vec![added]).await?;
//!
//! let events = store.read_stream(&cart, ReadOptions::all()).await?;
//! assert_eq!(events[0].stream_version, 1);
//! # Ok(()) }
//! ```
//!
//! The full explanations are in the repository's `docs/design.md`,
//! section 5; each paragraph below names its part.
//!
//! **Schema.** The tables and the function `append_events` live in one
//! schema, `factum` unless [`PostgresOptions::with_schema`] names another;
//! every statement names it, so any pool works. The SQL is in the crate's
//! `migrations/` folder (also linked from the repository's top-level
//! `migrations/postgres`). [`PostgresStore::connect`] and
//! [`connect_with`](PostgresStore::connect_with) apply it;
//! [`PostgresStore::new`] and [`with_options`](PostgresStore::with_options)
//! send nothing, for applying it with your own tooling, and
//! [`PostgresStore::migrate`] applies it explicitly ("Schema and appends").
//!
//! **Least privilege.** The application may run as a role that can only
//! read and append: no `UPDATE`, `DELETE` or `TRUNCATE` on the events, no
//! DDL, while the schema's owner runs the migrations. The crate's
//! `roles/read_and_append.sql` holds the grants (run it as the owner
//! after migrating, with psql variables `schema` and `role`); on a schema
//! whose migrations are all applied, [`PostgresStore::connect`] only reads,
//! so such a role connects ("Least privilege").
//!
//! **The feed's cost.** The global feed hands out only events of
//! transactions older than every running transaction that writes events,
//! so it is final: it waits for the oldest open transaction that has
//! appended (never for one that writes only other tables, in this database
//! or another). One left open stalls every feed reader, and
//! [`PostgresStore::feed_held_back_by`] names it. Set
//! `idle_in_transaction_session_timeout` and keep appending
//! transactions short ([`PostgresStore::append_in`]'s and projection pages
//! included). Reads wait up to [`PostgresOptions::feed_wait`] for events
//! held back. Positions
//! are the cluster's transaction ids: after a logical restore
//! (`pg_dump`/`pg_restore`) into a fresh cluster, re-base them before
//! writing ("The feed: transaction ids").
//!
//! **Notifications.** After appends the store sends `pg_notify` (at most
//! one per 50 ms, outside its appends' transactions), and one `LISTEN`
//! connection per store, named [`PostgresStore::feed_listener_name`],
//! wakes subscriptions and runners through
//! [`feed_signal`](factum_core::EventReader::feed_signal); readers still
//! poll, since a notification is only a hint ("Notifications").
//!
//! **Exactly-once projections.** A [`PostgresProjectionRunner`] hands each
//! page of the feed to a [`TransactionalProjection`] inside one transaction
//! that also moves its checkpoint, so writes made through that transaction
//! change the read model exactly once; anything else is at least once
//! ("Projections, exactly once").
//!
//! **Leases and partitions.** With a [`Lease`] (a row with a fencing
//! token), several runners of one projection may run in any processes: one
//! works, the others stand by. [`Partition`]s split a projection by stream,
//! each with its own checkpoint and lease ("Leases with a fencing token",
//! "Partitions").
//!
//! **Testing.** With the `testing` feature, the module `testing` gives each
//! test a fresh schema on the server named by `DATABASE_URL`, or on a throwaway
//! cluster it starts when that is unset ("The test harness").

mod announce;
mod connect;
mod decode;
mod encode;
mod error;
mod holder;
mod lease;
mod listen;
mod locks;
mod migrate;
mod options;
mod projection;
mod schema;
mod sql;
mod store;
mod xid8;

#[cfg(feature = "testing")]
pub mod testing;

pub use holder::FeedHolder;
pub use lease::{Lease, PostgresWorkerLease};
pub use options::PostgresOptions;
pub use projection::{
    InvalidPartition, Partition, PostgresProjectionRunner, TransactionalProjection,
};
pub use schema::{InvalidSchemaName, SchemaName};
pub use store::PostgresStore;

/// The sqlx this backend is built on. A [`TransactionalProjection`]
/// takes its `PgConnection` from here (or from an sqlx dependency of the very
/// same version): the one of another sqlx version is another type, and the
/// compiler then says "expected `PgConnection`, found `PgConnection`".
pub use sqlx;
