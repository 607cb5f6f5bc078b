//! [`SqliteStore`]: the writer and reader connections, and opening a
//! database (connection options, WAL journaling, the schema). What the store
//! does lives beside this file, one role each: `append.rs`, `read.rs`,
//! `feed.rs`, `state.rs`.

mod append;
mod append_one;
mod commit;
mod condition;
mod feed;
mod parked;
mod range;
mod read;
mod state;
mod versions;

pub(crate) use parked::{park, unpark};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use factum_core::backend::{AppendQueue, Backoff};
use factum_core::{FeedNotifier, Result};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::connections::{Connections, ReadConnection};
use crate::error::{backend, is_busy};
use crate::migrate::migrate;
use crate::sql;

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
    /// Appends waiting for the committer, which lets concurrent ones share
    /// a transaction.
    appends: Arc<AppendQueue<commit::Request>>,
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
        Self::connect_with_readers(url, READERS).await
    }

    /// Opens the database a `sqlite:` URL names, like
    /// [`connect`](Self::connect), with `readers` reader connections (at
    /// least 1; `connect` opens 4) beside the one writer. An in-memory
    /// database has a single connection whatever the number.
    pub async fn connect_with_readers(url: &str, readers: usize) -> Result<Self> {
        let options = parse_url(url)?;
        if is_memory_url(url) {
            return Ok(Self::from(memory(options).await?));
        }
        Ok(Self::from(file(options, readers).await?))
    }

    /// Opens a database file with connection options of your own (for
    /// example `synchronous(SqliteSynchronous::Normal)`). The store still
    /// turns on file creation, WAL, a 5 s busy timeout and foreign keys;
    /// leave `journal_mode` unset. In-memory options are refused: use
    /// [`in_memory`](Self::in_memory).
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self> {
        Ok(Self::from(file(options, READERS).await?))
    }

    /// An empty database in memory, private to this store (and its clones),
    /// on a single connection that serves reads and writes; it is gone when
    /// the store is dropped. For tests and prototypes.
    pub async fn in_memory() -> Result<Self> {
        let options = parse_url("sqlite::memory:")?;
        Ok(Self::from(memory(options).await?))
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
    pub async fn read_connection(&self) -> Result<ReadConnection<'_>> {
        self.reader
            .acquire()
            .await
            .map_err(|e| backend("lending a reader connection", e))
    }

    /// The writer connection, for a projection runner's page transactions
    /// (which must hold SQLite's write lock like an append).
    pub(crate) async fn write_connection(&self) -> Result<ReadConnection<'_>, sqlx::Error> {
        self.writer.acquire().await
    }

    /// Closes every connection, waiting for running operations to finish;
    /// later operations fail. Dropping the store (and its clones) closes the
    /// connections too.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

impl From<Opened> for SqliteStore {
    fn from(opened: Opened) -> Self {
        Self {
            writer: opened.writer,
            reader: opened.reader,
            notifier: Arc::new(FeedNotifier::new()),
            appends: Arc::new(AppendQueue::new(commit::MAX_BATCH)),
        }
    }
}

/// How long a connection waits for another process's write lock before
/// failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections of a file database by default (WAL lets them read
/// while the writer writes).
const READERS: usize = 4;

/// The writer (one connection) and the readers of a store. In memory they
/// are the same single connection.
struct Opened {
    writer: Arc<Connections>,
    reader: Arc<Connections>,
}

/// Whether `url` names an in-memory database.
fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Parses a `sqlite:` URL.
fn parse_url(url: &str) -> Result<SqliteConnectOptions> {
    SqliteConnectOptions::from_str(url)
        .map_err(|e| backend(format!("parsing the database URL {url:?}"), e))
}

/// Opens a database file (created if missing) in WAL mode: one writer
/// connection, which queues this process's appends, and `readers` readers.
async fn file(options: SqliteConnectOptions, readers: usize) -> Result<Opened> {
    let name = options.get_filename().display().to_string();
    // No `journal_mode` pragma per connection: the writer switches the file
    // to WAL once (see `enable_wal`), and the mode is kept in the file.
    let options = options
        .create_if_missing(true)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let opening = |e| backend(format!("opening {name}"), e);
    let writer = Connections::open(&options, 1).await.map_err(opening)?;
    {
        let mut conn = writer.acquire().await.map_err(opening)?;
        enable_wal(&mut conn, &name).await?;
        migrate(&mut conn).await?;
    }
    let reader = Connections::open(&options, readers)
        .await
        .map_err(opening)?;
    Ok(Opened {
        writer: Arc::new(writer),
        reader: Arc::new(reader),
    })
}

/// Opens an in-memory database on a single connection shared by readers
/// and the writer: the database lives as long as that connection.
async fn memory(options: SqliteConnectOptions) -> Result<Opened> {
    let opening = |e| backend("opening an in-memory database", e);
    let connections = Connections::open(&options.foreign_keys(true), 1)
        .await
        .map_err(opening)?;
    migrate(&mut *connections.acquire().await.map_err(opening)?).await?;
    let connections = Arc::new(connections);
    Ok(Opened {
        writer: connections.clone(),
        reader: connections,
    })
}

/// Switches the file to WAL journaling. Two processes opening a new file at
/// once both try; while the file is still in rollback mode, SQLite answers
/// one of them `SQLITE_BUSY` at once (waiting could deadlock), or leaves the
/// mode unchanged. So this retries, with a short growing pause, until the
/// file is in WAL mode or [`BUSY_TIMEOUT`] has passed.
async fn enable_wal(conn: &mut SqliteConnection, name: &str) -> Result<()> {
    let operation = || format!("switching {name} to WAL journaling");
    let mut backoff = Backoff::new(BUSY_TIMEOUT);
    loop {
        let outcome = sqlx::query(sql::ENABLE_WAL).fetch_one(&mut *conn).await;
        let problem: factum_core::BoxError = match outcome {
            Ok(row) => {
                let mode: String = row.try_get(0).map_err(|e| backend(operation(), e))?;
                if mode.eq_ignore_ascii_case("wal") {
                    return Ok(());
                }
                if mode.eq_ignore_ascii_case("memory") {
                    return Err(backend(
                        operation(),
                        "this is an in-memory database, which has no WAL: open it with \
                         SqliteStore::in_memory() or SqliteStore::connect(\"sqlite::memory:\")",
                    ));
                }
                format!("the journal mode stayed {mode:?}").into()
            }
            Err(error) if is_busy(&error) => error.into(),
            Err(error) => return Err(backend(operation(), error)),
        };
        if !backoff.pause().await {
            return Err(backend(operation(), problem));
        }
    }
}
