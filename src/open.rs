//! [`open`]: one way to get a store from a URL.

use std::sync::Arc;

use crate::{Error, EventStore, Result};

/// Opens the store a URL names, ready to use (its schema created or
/// migrated):
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
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme {
        "memory" => memory(url),
        "sqlite" => sqlite(url).await,
        "postgres" | "postgresql" => postgres(url).await,
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
fn memory(_url: &str) -> Result<Arc<dyn EventStore>> {
    Ok(Arc::new(factum_memory::MemoryStore::new()))
}

#[cfg(not(feature = "memory"))]
fn memory(url: &str) -> Result<Arc<dyn EventStore>> {
    Err(unsupported(
        url,
        "factum was built without the `memory` feature",
    ))
}

#[cfg(feature = "sqlite")]
async fn sqlite(url: &str) -> Result<Arc<dyn EventStore>> {
    Ok(Arc::new(factum_sqlite::SqliteStore::connect(url).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite(url: &str) -> Result<Arc<dyn EventStore>> {
    Err(unsupported(
        url,
        "factum was built without the `sqlite` feature",
    ))
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<Arc<dyn EventStore>> {
    // `connect` applies the schema, reading only when it is current.
    Ok(Arc::new(
        factum_postgres::PostgresStore::connect(url).await?,
    ))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(url: &str) -> Result<Arc<dyn EventStore>> {
    Err(unsupported(
        url,
        "factum was built without the `postgres` feature",
    ))
}
