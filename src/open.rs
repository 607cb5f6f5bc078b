//! [`open`] and [`open_with`]: one way to get a store from a URL.

use std::sync::Arc;
use std::time::Duration;

use crate::{Error, EventStore, Result, Store};

/// How [`open_with`] opens a store: set with `with_*`, read with the
/// option's bare name. Each option applies where it means something:
///
/// | option | PostgreSQL | SQLite | memory |
/// | --- | --- | --- | --- |
/// | connect timeout (default 10 s) | reaching the server, and waiting for a pool connection | ignored: a local file | ignored |
/// | pool size (default: the backend's) | connections of the pool (default 10) | reader connections beside the one writer (default 4) | ignored |
/// | schema (default: the backend's) | the schema of factum's tables (default `factum`) | refused: see [`with_schema`](Self::with_schema) | ignored |
///
/// ```
/// use std::time::Duration;
///
/// let options = factum::OpenOptions::default()
///     .with_connect_timeout(Duration::from_secs(3))
///     .with_pool_size(20)
///     .with_schema("billing");
/// assert_eq!(options.pool_size(), Some(20));
/// assert_eq!(options.schema(), Some("billing"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    connect_timeout: Duration,
    pool_size: Option<u32>,
    schema: Option<String>,
}

impl Default for OpenOptions {
    /// A 10 s connect timeout; each backend's own pool size and schema.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            pool_size: None,
            schema: None,
        }
    }
}

impl OpenOptions {
    /// How long reaching a PostgreSQL server may take (default 10 s): a
    /// server that refuses connections or is starting up is tried again
    /// until then, and then opening fails with [`Error::Unavailable`], whose
    /// text names the server and the driver's reason (such as "Connection
    /// refused"). Other failures (a wrong password, a missing database) end
    /// it at once. Later, operations wait at most this long for a connection
    /// of the pool.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many connections the store may open (at least 1): on
    /// PostgreSQL those of its pool, on an SQLite file its readers (the
    /// writer is always one more).
    pub fn with_pool_size(mut self, size: u32) -> Self {
        self.pool_size = Some(size.max(1));
        self
    }

    /// The PostgreSQL schema of factum's tables (default `factum`), created
    /// and migrated on open; an invalid name fails
    /// [`open_with`] with [`Error::UnsupportedUrl`].
    ///
    /// SQLite refuses it: it has no schemas, and factum's tables in a file
    /// are always the same ones (prefixed `factum_`), so two applications
    /// that a schema keeps apart on PostgreSQL would share events in one
    /// file. Give each its own file instead. The memory store ignores it:
    /// every memory store is private anyway.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The configured connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The configured pool size (`None`: the backend's default).
    pub fn pool_size(&self) -> Option<u32> {
        self.pool_size
    }

    /// The configured schema (`None`: the backend's default).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }
}

/// Opens the store a URL names, ready to use (its schema created or
/// migrated), with default [`OpenOptions`]:
///
/// | URL | store | feature |
/// | --- | --- | --- |
/// | `sqlite://path/to/file.db` | SQLite file, created if missing | `sqlite` (default) |
/// | `sqlite::memory:` | SQLite in memory | `sqlite` |
/// | `postgres://user@host/db` (or `postgresql://`) | PostgreSQL | `postgres` |
/// | `memory:` | in-memory store | `memory` (default) |
///
/// A URL whose backend was not compiled in, or that names no backend,
/// fails with [`Error::UnsupportedUrl`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> factum::Result<()> {
/// let store = factum::open("memory:").await?;
/// assert_eq!(store.head_position().await?, None);
/// assert!(factum::open("mysql://nope").await.is_err());
/// # Ok(()) }
/// ```
pub async fn open(url: &str) -> Result<Arc<dyn EventStore>> {
    open_with(url, OpenOptions::default()).await
}

/// Opens the store a URL names, like [`open`], with `options`: a connect
/// timeout, a pool size and a schema (see [`OpenOptions`] for what each
/// means on each backend).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> factum::Result<()> {
/// use factum::OpenOptions;
///
/// let store = factum::open_with("sqlite::memory:", OpenOptions::default().with_pool_size(2)).await?;
/// assert_eq!(store.head_position().await?, None);
///
/// let refused = factum::open_with("sqlite::memory:", OpenOptions::default().with_schema("billing")).await;
/// assert!(refused.is_err(), "SQLite has no schemas");
/// # Ok(()) }
/// ```
pub async fn open_with(url: &str, options: OpenOptions) -> Result<Arc<dyn EventStore>> {
    open_store_with(url, options).await.map(Store::into_shared)
}

/// Opens the store a URL names, like [`open_with`], as its backend's own
/// type ([`Store`]): what the backends' exactly-once projection runners
/// take.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> factum::Result<()> {
/// use factum::{OpenOptions, Store};
///
/// let store = factum::open_store_with("sqlite::memory:", OpenOptions::default()).await?;
/// assert!(matches!(store, Store::Sqlite(_)));
/// let shared = store.into_shared(); // the same store, as `Arc<dyn EventStore>`
/// assert_eq!(shared.head_position().await?, None);
/// # Ok(()) }
/// ```
pub async fn open_store_with(url: &str, options: OpenOptions) -> Result<Store> {
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme {
        "memory" => memory(url),
        "sqlite" => sqlite(url, &options).await,
        "postgres" | "postgresql" => postgres(url, options).await,
        _ => Err(unsupported(
            url,
            "it names no backend: use sqlite://, postgres:// or memory:",
        )),
    }
}

fn unsupported(url: &str, reason: &str) -> Error {
    // Never echo a password back.
    let shown = match url.split_once('@') {
        Some((_, host)) => format!(
            "{}://…@{host}",
            url.split_once("://").map_or("", |(s, _)| s)
        ),
        None => url.to_owned(),
    };
    Error::UnsupportedUrl {
        url: shown,
        reason: reason.to_owned(),
    }
}

#[cfg(feature = "memory")]
fn memory(_url: &str) -> Result<Store> {
    Ok(Store::Memory(Arc::new(factum_memory::MemoryStore::new())))
}

#[cfg(not(feature = "memory"))]
fn memory(url: &str) -> Result<Store> {
    Err(unsupported(
        url,
        "factum was built without the `memory` feature",
    ))
}

#[cfg(feature = "sqlite")]
async fn sqlite(url: &str, options: &OpenOptions) -> Result<Store> {
    if let Some(schema) = options.schema() {
        return Err(unsupported(
            url,
            &format!(
                "SQLite has no schemas, so schema {schema:?} cannot keep this store apart \
                 from others in the same file: leave the schema unset and give each store \
                 its own file"
            ),
        ));
    }
    let store = match options.pool_size() {
        Some(readers) => {
            factum_sqlite::SqliteStore::connect_with_readers(url, readers as usize).await?
        }
        None => factum_sqlite::SqliteStore::connect(url).await?,
    };
    Ok(Store::Sqlite(store))
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite(url: &str, _options: &OpenOptions) -> Result<Store> {
    Err(unsupported(
        url,
        "factum was built without the `sqlite` feature",
    ))
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str, options: OpenOptions) -> Result<Store> {
    let mut postgres =
        factum_postgres::PostgresOptions::default().with_connect_timeout(options.connect_timeout());
    if let Some(size) = options.pool_size() {
        postgres = postgres.with_max_connections(size);
    }
    if let Some(schema) = options.schema() {
        let schema = factum_postgres::SchemaName::new(schema)
            .map_err(|e| unsupported(url, &e.to_string()))?;
        postgres = postgres.with_schema(schema);
    }
    // `connect_with` applies the schema, reading only when it is current.
    Ok(Store::Postgres(
        factum_postgres::PostgresStore::connect_with(url, postgres).await?,
    ))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(url: &str, _options: OpenOptions) -> Result<Store> {
    Err(unsupported(
        url,
        "factum was built without the `postgres` feature",
    ))
}
