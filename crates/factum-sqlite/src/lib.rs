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
//!   transaction between pages; see [`EventReader::read_stream_events`].
//! - **Payloads.** JSON payloads are stored as TEXT, so SQLite's JSON
//!   functions query them (`json_extract(payload, '$.amount')`); MessagePack
//!   payloads as BLOBs; metadata as JSON text. Event types are indexed.

mod append;
mod connect;
mod connections;
mod error;
mod migrations;
mod one_statement;
mod read;
mod rows;
mod sql;
mod state;

use async_trait::async_trait;
use factum_core::{
    AppendResult, CheckpointStore, EventAppender, EventReader, FeedNotifier, FeedSignal,
    GlobalPosition, ReadOptions, RecordedEvent, RecordedPayload, Result, Snapshot, SnapshotStore,
    StreamAppend, StreamId,
};
use std::sync::Arc;

use connections::Connections;
pub use connections::Lease;
use futures::stream::BoxStream;
pub use sqlx::sqlite::SqliteConnectOptions;

/// An event store in an SQLite database file, or in memory.
///
/// Cheap to clone and share (clones use the same connections), or use it as
/// `Arc<dyn EventStore>`. Open one store per file per process: its appends
/// queue in memory, in order. Several stores may open the same file, in one
/// process or in several, and SQLite's write lock keeps their appends
/// consistent, but they wait for each other through SQLite's busy handler,
/// which polls with sleeps of up to 100 ms.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Arc<Connections>,
    reader: Arc<Connections>,
    /// Wakes this store's subscribers after its own appends; appends by
    /// other stores or processes on the same file are found by polling.
    notifier: Arc<FeedNotifier>,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it (but not its
    /// directory) if missing, in WAL mode, and applies the schema.
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Self::connect_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens the database a `sqlite:` URL names, e.g. `sqlite://events.db` or
    /// `sqlite:data/events.db?mode=rwc`. The file is created if missing.
    /// `sqlite::memory:` opens an in-memory database like
    /// [`in_memory`](Self::in_memory).
    pub async fn connect(url: &str) -> Result<Self> {
        let options = connect::parse_url(url)?;
        if connect::is_memory_url(url) {
            return Ok(Self::from(connect::memory(options).await?));
        }
        Self::connect_with(options).await
    }

    /// Opens a database file with connection options of your own (for
    /// example `synchronous(SqliteSynchronous::Normal)`). The store still
    /// turns on file creation, WAL, a 5 s busy timeout and foreign keys;
    /// leave `journal_mode` unset. In-memory options are refused: use
    /// [`in_memory`](Self::in_memory).
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self> {
        Ok(Self::from(connect::file(options).await?))
    }

    /// An empty database in memory, private to this store (and its clones),
    /// on a single connection that serves reads and writes; it is gone when
    /// the store is dropped. For tests and prototypes.
    pub async fn in_memory() -> Result<Self> {
        let options = connect::parse_url("sqlite::memory:")?;
        Ok(Self::from(connect::memory(options).await?))
    }

    /// One of the store's reader connections, for queries of your own
    /// against the `factum_events` table: by `event_type`, or with
    /// `json_extract` on JSON payloads and metadata. Do not write through
    /// it, and drop it soon: the store's reads wait for it, and in memory it
    /// is the store's only connection, so an append waits for it too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> factum_core::Result<()> {
    /// use sqlx::Row;
    /// # let store = factum_sqlite::SqliteStore::in_memory().await?;
    /// let mut conn = store.read_connection().await?;
    /// let row = sqlx::query("SELECT COUNT(*) FROM factum_events WHERE event_type = ?1")
    ///     .bind("Deposited")
    ///     .fetch_one(&mut *conn)
    ///     .await
    ///     .expect("the query runs");
    /// assert_eq!(row.get::<i64, _>(0), 0);
    /// # Ok(()) }
    /// ```
    pub async fn read_connection(&self) -> Result<Lease<'_>> {
        self.reader
            .acquire()
            .await
            .map_err(|e| error::backend("lending a reader connection", e))
    }

    /// Closes every connection, waiting for running operations to finish;
    /// later operations fail. Dropping the store (and its clones) closes the
    /// connections too.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

impl From<connect::Opened> for SqliteStore {
    fn from(opened: connect::Opened) -> Self {
        Self {
            writer: opened.writer,
            reader: opened.reader,
            notifier: Arc::new(FeedNotifier::new()),
        }
    }
}

#[async_trait]
impl EventAppender for SqliteStore {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        let results = append::append(&self.writer, appends).await?;
        self.notifier.notify();
        Ok(results)
    }
}

#[async_trait]
impl EventReader for SqliteStore {
    /// Reads `stream` page by page: each page of up to 512 events is one
    /// short query, and no read transaction stays open between pages, so a
    /// reader of a 1,000,000-event stream holds one page in memory and never
    /// keeps SQLite from checkpointing its WAL. Events are immutable and
    /// versions contiguous, so pages from successive snapshots fit together;
    /// a forward read without an upper bound may also yield events appended
    /// while it runs.
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        read::stream_events(&self.reader, stream, options)
    }

    /// Pages like [`read_stream_events`](Self::read_stream_events), with
    /// the five columns folding needs instead of eleven.
    fn read_stream_payloads<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedPayload>> {
        read::stream_events(&self.reader, stream, options)
    }

    async fn read_all(&self, after: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>> {
        read::read_all(&self.reader, after, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        read::stream_version(&self.reader, stream).await
    }

    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        read::head_position(&self.reader).await
    }

    /// Fires after each append through this store or its clones. Appends by
    /// another store or process on the same file do not fire it: subscribers
    /// find those by polling.
    fn feed_signal(&self) -> Option<FeedSignal> {
        Some(self.notifier.signal())
    }
}

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        state::save_snapshot(&self.writer, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        state::load_snapshot(&self.reader, stream).await
    }
}

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
        state::load_checkpoint(&self.reader, name).await
    }

    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
        state::save_checkpoint(&self.writer, name, position).await
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<()> {
        state::delete_checkpoint(&self.writer, name).await
    }
}
