//! SQLite backend of factum: the embedded, zero-setup event store.
//!
//! [`SqliteStore`] keeps events, snapshots and checkpoints in one SQLite file
//! (or in memory), with every guarantee of factum's DESIGN.md. SQLite is
//! bundled: nothing needs to be installed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> factum_core::Result<()> {
//! use factum_core::{EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamId};
//! use factum_sqlite::SqliteStore;
//!
//! let dir = std::env::temp_dir().join(format!("factum-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).expect("a temporary directory");
//! let store = SqliteStore::open(dir.join("events.db")).await?;
//! let stream = StreamId::new("cart-1")?;
//! let added = EventData::json("ItemAdded", br#"{"sku":"a"}"#.to_vec());
//! store.append(&stream, ExpectedVersion::NoStream, vec![added]).await?;
//! let events = store.read_stream(&stream, ReadOptions::all()).await?;
//! assert_eq!(events[0].stream_version, 1);
//! store.close().await;
//! # std::fs::remove_dir_all(&dir).expect("cleanup");
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! - **Schema.** `migrations/sqlite/` at the repository root, embedded in the
//!   crate and applied by sqlx's migrator every time a store is opened
//!   (already applied migrations are skipped). Its bookkeeping table is
//!   `_factum_migrations`, and factum's tables are prefixed `factum_`, so an
//!   application may keep its own tables and sqlx migrations in the same file.
//! - **Writers are serialized.** A file store writes through one connection,
//!   so appends of one process queue in order (FIFO); each append is one
//!   `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before it
//!   reads versions and idempotency keys. Another process (or another store
//!   on the same file) waits for the lock up to the busy timeout (5 s). A
//!   stale expected version is therefore always a
//!   [`VersionConflict`](factum_core::Error::VersionConflict), never a
//!   "database is locked" error.
//! - **Few round trips.** An append of up to 16 events without idempotency
//!   keys to one stream is one `INSERT … SELECT … RETURNING` that checks the
//!   expected version itself; other appends read versions and keys in one
//!   query each, then insert with multi-row INSERTs. Statements are prepared
//!   once per connection and cached. Connections are held behind async
//!   mutexes rather than in an sqlx pool, whose release adds a round trip.
//! - **Positions.** Because writers are serialized, the global position is a
//!   plain integer assigned under the lock (`GlobalPosition::from_parts(0,
//!   n)`), and positions grow in commit order: a reader's snapshot always
//!   holds a prefix of the feed, so the feed is final.
//! - **WAL.** File stores use WAL journaling: readers (four connections)
//!   read while the writer writes. `synchronous` stays at
//!   SQLite's `FULL`, so an append that returned survives a power loss; pass
//!   your own options to [`SqliteStore::connect_with`] to trade that for
//!   speed.
//! - **Streamed reads** fetch one page of 512 events per query and hold no
//!   transaction between pages; see [`factum_core::EventReader::read_stream_events`].
//! - **Payloads.** JSON payloads are stored as TEXT, so SQLite's JSON
//!   functions query them (`json_extract(payload, '$.amount')`); MessagePack
//!   payloads as BLOBs; metadata as JSON text. Event types are indexed.

mod connections;
mod decode;
mod encode;
mod error;
mod migrate;
mod sql;
mod store;

pub use connections::ReadConnection;
pub use sqlx::sqlite::SqliteConnectOptions;
pub use store::SqliteStore;
