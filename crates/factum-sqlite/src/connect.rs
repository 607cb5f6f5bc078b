//! Opening a database: connection options, the two pools, and migrations.

use std::str::FromStr;
use std::time::Duration;

use factum_core::Result;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection, SqlitePool};

use crate::error::backend;
use crate::sql;

/// How long a connection waits for another process's write lock before
/// failing with "database is locked".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an append may queue for the writer connection behind the
/// appends of this process.
const WRITER_QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

/// Reader connections of a file database (WAL lets them read while the
/// writer writes).
const READERS: u32 = 4;

/// The table in which the migrator records what it applied: factum's own,
/// so an application's sqlx migrations can share the file.
const MIGRATIONS_TABLE: &str = "_factum_migrations";

/// The writer pool (one connection) and the reader pool of a store.
pub(crate) struct Pools {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
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
/// connection, whose pool queues this process's appends, and a few readers.
pub(crate) async fn file(options: SqliteConnectOptions) -> Result<Pools> {
    let name = options.get_filename().display().to_string();
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(WRITER_QUEUE_TIMEOUT)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .connect_with(options.clone())
        .await
        .map_err(|e| backend(format!("opening {name}"), e))?;
    migrate(&writer).await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(READERS)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| backend(format!("opening {name}"), e))?;
    Ok(Pools { writer, reader })
}

/// Opens an in-memory database on a single connection shared by readers
/// and the writer: the database lives as long as that connection.
pub(crate) async fn memory(options: SqliteConnectOptions) -> Result<Pools> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(WRITER_QUEUE_TIMEOUT)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .connect_with(options.foreign_keys(true))
        .await
        .map_err(|e| backend("opening an in-memory database", e))?;
    migrate(&pool).await?;
    Ok(Pools {
        writer: pool.clone(),
        reader: pool,
    })
}

/// Applies the schema in `migrations/sqlite/` that is not applied yet. The
/// migrator runs inside a `BEGIN IMMEDIATE` transaction (its own
/// transactions become savepoints), so two processes opening a new file at
/// once migrate one after the other instead of failing.
async fn migrate(writer: &SqlitePool) -> Result<()> {
    let fail = |e: sqlx::Error| backend("migrating the factum schema", e);
    let mut migrator: Migrator = sqlx::migrate!("../../migrations/sqlite");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    let mut conn = writer.acquire().await.map_err(fail)?;
    let mut tx = conn.begin_with(sql::BEGIN_IMMEDIATE).await.map_err(fail)?;
    migrator
        .run(&mut *tx)
        .await
        .map_err(|e| backend("migrating the factum schema", e))?;
    tx.commit().await.map_err(fail)
}
