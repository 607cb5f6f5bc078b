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
//! let store = PostgresStore::connect_with(&url, PostgresOptions::default().with_schema(schema)).await?;
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
//! `events` (JSON payloads as JSONB,
//! MessagePack payloads as bytea, metadata as JSONB; a trigger rejects
//! `UPDATE`, `DELETE` and `TRUNCATE`), `snapshots` and `checkpoints`, plus
//! the function `append_events`.
//!
//! # Appends
//!
//! An append is one statement, so one round trip in its own transaction:
//! for one stream without idempotency keys (the common case) a plain
//! `INSERT ... SELECT`, otherwise one call of the schema's `append_events`
//! function. A stream's version is its highest stored `stream_version`; the
//! statement checks the expected version against it and writes the next
//! versions. The primary key `(stream_id, stream_version)` makes a lost race
//! impossible to miss: of two writers expecting the same version, one fails
//! on the key, and its append is retried, which then reports
//! [`Error::VersionConflict`](factum_core::Error::VersionConflict) with the
//! actual version (or, for [`Any`](factum_core::ExpectedVersion::Any),
//! succeeds with the next version: concurrent `Any` appends all succeed).
//! `append_events` also takes a transaction-scoped advisory lock per stream,
//! in one global order, so that multi-stream appends queue rather than
//! collide and cannot deadlock each other. Idempotency keys are unique across
//! all streams (a unique index); when two appends race with the same key,
//! the loser's statement fails on the index and is retried, and then reports
//! the winner's event as a duplicate. Statements are prepared once per
//! connection (sqlx caches them).
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
//! # Subscriptions: LISTEN/NOTIFY
//!
//! [`feed_signal`](factum_core::EventReader::feed_signal) wakes
//! subscriptions and projection runners as soon as events commit, instead
//! of at their next poll. After an append, the store sends `pg_notify` on
//! the channel `factum_feed_<schema>`, which wakes the listeners of every
//! process on that schema. Each store (with its clones) opens one
//! extra connection, on first use, that `LISTEN`s and forwards
//! notifications; it is named [`PostgresStore::feed_listener_name`] in
//! `pg_stat_activity` and closed when the last clone is dropped. It
//! reconnects after failures and then wakes everyone, since notifications
//! sent meanwhile are lost. The notification is only a hint: readers still
//! poll at their `poll_interval`, which bounds the delay when one is lost.
//!
//! PostgreSQL serializes the commits of transactions that notified on one
//! database-wide lock, which would cost many concurrent writers their group
//! commit (in a `pgbench` of single-row inserts with 8 clients, a notify in
//! every transaction committed 3 to 5 times fewer rows per second). So a
//! store never notifies inside its appends: it sends at most one
//! notification per 50 ms, on a statement of its own after the append
//! returned, the first at once and the rest at the end of the 50 ms, so
//! that every append is announced within 50 ms whatever the write rate.
//! [`PostgresStore::append_in`] sends the notification, when one is due at
//! once, inside the caller's transaction (delivered on its commit); events
//! written with plain SQL are announced by nobody and are seen at the next
//! poll.
//!
//! # Projections, exactly once
//!
//! A [`TransactionalProjection`] keeps its read model in tables of the same
//! database. A [`PostgresProjectionRunner`] hands it each page of the feed inside
//! one transaction that also moves the projection's checkpoint (by
//! compare-and-set, from where the runner found it), so read model and
//! checkpoint commit together: every event changes the read model exactly
//! once, whatever crashes, aborted tasks or killed connections happen. That
//! holds only for writes made through the handler's transaction. A read
//! model elsewhere (another database, a search index, an email) gets at
//! least once, as with core's [`ProjectionRunner`](factum_core::ProjectionRunner):
//! make its handler idempotent.
//!
//! Each page's transaction writes, so while it is open the global feed waits
//! for it (see above): every feed reader on the server, not only this
//! projection, sees events appended meanwhile only after it ends. Keep
//! pages small ([`PostgresProjectionRunner::with_batch_size`]) and handlers quick.
//!
//! # Scaling out: leases with a fencing token
//!
//! With a [`Lease`], any number of runners of one projection, in any
//! processes, can be started: one works, the others stand by. A runner takes
//! the projection's row in `projection_leases` when it is free, expired or
//! its own, bumping the row's `token`; it renews it every third of its time
//! to live. Every page's transaction first locks that row (`FOR SHARE`) and
//! checks holder, token and expiry, and rolls back if they changed: a runner
//! that lost its lease (paused too long, cut off from the network) can
//! never commit, and the next holder reads the checkpoint only after taking
//! the lease. Expiry is judged by the server's clock alone. The lease is a
//! table row, not an advisory lock, so it works behind connection poolers in
//! transaction mode.
//!
//! The time to live is a trade-off: when a holder dies without letting go
//! (a crash, an aborted task), the others take over only after it expires
//! (plus a quarter of it, their retry pause); a short one makes a holder
//! that stalls for that long lose its lease and the page in flight.
//!
//! To share one projection's work, split it into [`Partition`]s by stream
//! (a stable hash of the stream id): each partition has its own checkpoint
//! and its own lease row, so N partitions can run in up to N processes at
//! once; events of one stream stay in order.
//!
//! # Testing
//!
//! With the `testing` feature, [`testing`] gives each test a fresh schema on
//! the server named by `DATABASE_URL`, or on a throwaway cluster it starts
//! when that is unset.

mod announce;
mod decode;
mod encode;
mod error;
mod listen;
mod migrate;
mod options;
mod projection;
mod schema;
mod sql;
mod store;
mod xid8;

#[cfg(feature = "testing")]
pub mod testing;

pub use options::PostgresOptions;
pub use projection::{
    InvalidPartition, Lease, Partition, PostgresProjectionRunner, TransactionalProjection,
};
pub use schema::{InvalidSchemaName, SchemaName};
pub use store::PostgresStore;
