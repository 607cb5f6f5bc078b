//! [`Store`]: an opened store as its backend's own type.

use std::sync::Arc;

use crate::EventStore;

/// A store [`open_store_with`](crate::open_store_with) opened, as its
/// backend's own type, for what only that backend offers: above all the
/// exactly-once projection runners (`SqliteProjectionRunner`,
/// `PostgresProjectionRunner`), which take the concrete store. Everything
/// else works on [`into_shared`](Self::into_shared)'s `Arc<dyn EventStore>`.
/// Which variants exist depends on the crate's features.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Store {
    /// An in-memory store (`memory:`).
    #[cfg(feature = "memory")]
    Memory(Arc<factum_memory::MemoryStore>),
    /// An SQLite store (`sqlite:…`).
    #[cfg(feature = "sqlite")]
    Sqlite(factum_sqlite::SqliteStore),
    /// A PostgreSQL store (`postgres://…`).
    #[cfg(feature = "postgres")]
    Postgres(factum_postgres::PostgresStore),
}

impl Store {
    /// The store as `Arc<dyn EventStore>`, what [`open`](crate::open)
    /// returns.
    pub fn into_shared(self) -> Arc<dyn EventStore> {
        match self {
            #[cfg(feature = "memory")]
            Self::Memory(store) => store,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store) => Arc::new(store),
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => Arc::new(store),
        }
    }
}
