//! SQLite backend of factum: the embedded, zero-setup event store.
//!
//! [`SqliteStore`] keeps events, snapshots and checkpoints in one SQLite file
//! (or in memory), with the seven guarantees of the repository's
//! `docs/design.md` (section 4). SQLite is bundled: nothing needs to be
//! installed.
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
//! In short; `docs/design.md`, section 6, has the full explanation.
//!
//! - **Schema.** The crate's own `migrations/` folder (also linked from the
//!   repository's top-level `migrations/sqlite`), embedded and applied by
//!   [`SqliteStore::open`], [`connect`](SqliteStore::connect),
//!   [`connect_with`](SqliteStore::connect_with) and
//!   [`in_memory`](SqliteStore::in_memory). factum's tables are prefixed
//!   `factum_` and its bookkeeping table is `_factum_migrations`, so an
//!   application may keep its own tables and migrations in the same file.
//! - **One writer.** A file store writes through one connection, each append
//!   a `BEGIN IMMEDIATE` transaction, so a stale expected version is always a
//!   [`VersionConflict`](factum_core::Error::VersionConflict), never
//!   "database is locked", and positions are a counter growing in commit
//!   order: the feed is final.
//! - **WAL**, with `synchronous` left at `FULL`: four reader connections read
//!   while the writer writes, and a returned append survives a power loss
//!   (pass your own options to [`SqliteStore::connect_with`] to trade that
//!   away).
//! - **Payloads.** JSON payloads are TEXT, so SQLite's JSON functions query
//!   them (`json_extract(payload, '$.amount')`), through
//!   [`SqliteStore::read_connection`]; MessagePack payloads are BLOBs.

mod connections;
mod decode;
mod encode;
mod error;
mod migrate;
mod projection;
mod sql;
mod store;

pub use connections::ReadConnection;
pub use projection::SqliteProjectionRunner;
pub use sqlx::sqlite::SqliteConnectOptions;
pub use store::SqliteStore;

/// The sqlx this backend is built on. A [`TransactionalProjection`](factum_core::TransactionalProjection)
/// takes its `SqliteConnection` from here (or from an sqlx dependency of the very
/// same version): the one of another sqlx version is another type, and the
/// compiler then says "expected `SqliteConnection`, found `SqliteConnection`".
pub use sqlx;
