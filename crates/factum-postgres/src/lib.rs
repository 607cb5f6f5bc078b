//! PostgreSQL backend of factum, over sqlx.
//!
//! [`PostgresStore`] implements every store trait of `factum_core`
//! ([`EventStore`](factum_core::EventStore)) and keeps every guarantee of
//! the design (the conformance suite checks them):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use factum_core::{EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamId};
//! use factum_postgres::{PostgresOptions, PostgresStore};
//! # let db = factum_postgres::testing::TestSchema::create().await?;
//! # let (url, schema) = (db.url().to_owned(), db.schema().clone());
//!
//! let store = PostgresStore::connect_with(&url, PostgresOptions::default().schema(schema)).await?;
//! store.migrate().await?;
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
//! # Schema
//!
//! The tables live in one schema, `factum` unless configured otherwise
//! ([`PostgresOptions::schema`]); its name is validated ([`SchemaName`]) and
//! always quoted. Every statement names the schema explicitly, so the store
//! works on any pool, including one the application configured itself: no
//! `search_path` or `after_connect` hook is needed.
//!
//! The schema is defined by the plain SQL files of `migrations/postgres/` at
//! the root of the repository. [`PostgresStore::migrate`] applies them with
//! sqlx's migrator. To apply them with other tooling instead, create the
//! schema, make it the first on `search_path` while the files run (the
//! files name no schema), and record them however the tool does. Tables:
//! `streams` (current version per stream), `events` (JSON payloads as JSONB,
//! MessagePack payloads as bytea, metadata as JSONB; a trigger rejects
//! `UPDATE`, `DELETE` and `TRUNCATE`), `snapshots` and `checkpoints`, plus
//! the function `append_events`.
//!
//! # Appends
//!
//! An append is one call of `append_events`: one statement, so one round
//! trip in its own transaction. The function checks each stream's expected
//! version while it updates (or inserts) the stream's row in `streams`; the
//! row lock serializes writers of a stream, so two writers expecting the same
//! version can never both succeed, and appends with
//! [`Any`](factum_core::ExpectedVersion::Any) all succeed. A conflict is
//! reported as [`Error::VersionConflict`](factum_core::Error::VersionConflict)
//! with the stream's actual version. Idempotency keys are unique across all
//! streams (a unique index); when two appends race with the same key, the
//! loser's call fails on the index and is retried, and then reports the
//! winner's event as a duplicate.
//!
//! [`PostgresStore::append_in`] appends inside the caller's own transaction.
//!
//! # The global feed, and what it costs
//!
//! A position is the pair (id of the writing transaction, sequence number).
//! [`read_all`](factum_core::EventReader::read_all) and
//! [`head_position`](factum_core::EventReader::head_position) hand out only
//! events whose transaction id lies below `pg_snapshot_xmin(pg_current_snapshot())`,
//! the oldest transaction still running. No transaction can then still
//! commit an event ordered before one already handed out: the feed is final
//! and has no gaps, unlike a plain sequence, where a transaction that
//! commits late publishes a lower number behind a reader's back.
//!
//! The costs:
//!
//! - **The feed waits for the oldest transaction on the server that has
//!   written anything**, in any database of the cluster, not only for
//!   appends. A transaction left open (an idle session in a transaction, a
//!   long batch job) stalls every feed reader until it ends; other appends
//!   go on, but their events are held back. Set
//!   `idle_in_transaction_session_timeout` (and keep write transactions
//!   short) so that a forgotten transaction cannot stall the feed for long.
//!   Reads wait up to [`PostgresOptions::feed_wait`] for events that are
//!   committed but held back, then return what is final.
//! - **Positions depend on the cluster's transaction ids.** A logical
//!   restore (`pg_dump`/`pg_restore`) into a fresh cluster, or a logical
//!   replica promoted to primary, starts again from low transaction ids:
//!   new events would get positions below the restored ones, and feed
//!   readers and checkpoints would skip them. Re-base before writing: stop
//!   the new cluster and advance its transaction counter past the highest
//!   restored `transaction_id` (`pg_resetwal --epoch` and
//!   `--next-transaction-id`, then start it), and reset or translate
//!   projection checkpoints. Physical backups (base backup plus
//!   WAL) and streaming replicas keep transaction ids and need nothing.
//!
//! # Testing
//!
//! With the `testing` feature, [`testing`] gives each test a fresh schema on
//! the server named by `DATABASE_URL`, or on a throwaway cluster it starts
//! when that is unset.

mod append;
mod append_one;
mod decode;
mod error;
mod feed;
mod listen;
mod migrate;
mod options;
mod projection;
mod read;
mod schema;
mod sql;
mod state;
mod store;

#[cfg(feature = "testing")]
pub mod testing;

pub use options::PostgresOptions;
pub use projection::{Lease, PgProjectionRunner, TransactionalProjection};
pub use schema::{InvalidSchemaName, SchemaName};
pub use store::PostgresStore;
