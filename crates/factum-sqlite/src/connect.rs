//! Opening a database: connection options, the writer and reader
//! connections, WAL journaling, and the schema.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use factum_core::Result;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::connections::Connections;
use crate::error::{backend, is_busy};
use crate::migrations::migrate;
use crate::sql;

/// How long a connection waits for another process's write lock before
/// failing with "database is locked".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections of a file database (WAL lets them read while the
/// writer writes).
const READERS: usize = 4;

/// The writer (one connection) and the readers of a store. In memory they
/// are the same single connection.
pub(crate) struct Opened {
    pub(crate) writer: Arc<Connections>,
    pub(crate) reader: Arc<Connections>,
}

/// Whether `url` names an in-memory database.
pub(crate) fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Parses a `sqlite:` URL.
pub(crate) fn parse_url(url: &str) -> Result<SqliteConnectOptions> {
    SqliteConnectOptions::from_str(url)
        .map_err(|e| backend(format!("parsing the database URL {url:?}"), e))
}

/// Opens a database file (created if missing) in WAL mode: one writer
/// connection, which queues this process's appends, and a few readers.
pub(crate) async fn file(options: SqliteConnectOptions) -> Result<Opened> {
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
    let reader = Connections::open(&options, READERS)
        .await
        .map_err(opening)?;
    Ok(Opened {
        writer: Arc::new(writer),
        reader: Arc::new(reader),
    })
}

/// Opens an in-memory database on a single connection shared by readers
/// and the writer: the database lives as long as that connection.
pub(crate) async fn memory(options: SqliteConnectOptions) -> Result<Opened> {
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
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
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
        if Instant::now() >= deadline {
            return Err(backend(operation(), problem));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
