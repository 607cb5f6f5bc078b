//! [`PostgresStore`]: the pool, the options and the prepared SQL. What the
//! store does lives beside this file, one role each: `append.rs`,
//! `read.rs`, `feed.rs`, `state.rs`.

mod append;
mod append_one;
mod feed;
mod read;
mod state;

use std::sync::Arc;

use factum_core::Result;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::announce::FeedAnnouncer;
use crate::error::backend;
use crate::listen::{self, FeedListener};
use crate::sql::Queries;
use crate::{PostgresOptions, SchemaName};

/// An event store on PostgreSQL. Cheap to clone: clones share the pool.
///
/// See the [crate documentation](crate), and `docs/design.md` (section 5)
/// in the repository, for the schema, the guarantees and their costs.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    options: Arc<PostgresOptions>,
    sql: Arc<Queries>,
    listener: Arc<FeedListener>,
    announcer: Arc<FeedAnnouncer>,
}

impl PostgresStore {
    /// A store on the pool `pool` with default options (schema `factum`).
    /// The pool needs no special setup: every statement names the schema.
    /// Nothing is sent to the database: apply the schema with
    /// [`migrate`](Self::migrate) or your own tooling.
    pub fn new(pool: PgPool) -> Self {
        Self::with_options(pool, PostgresOptions::default())
    }

    /// A store on the pool `pool` with `options`.
    pub fn with_options(pool: PgPool, options: PostgresOptions) -> Self {
        let sql = Arc::new(Queries::new(options.schema()));
        let announcer =
            FeedAnnouncer::new(sql.notify_feed.clone(), listen::channel(options.schema()));
        Self {
            pool,
            options: Arc::new(options),
            sql,
            listener: Arc::default(),
            announcer: Arc::new(announcer),
        }
    }

    /// Connects a new pool (sqlx's default pool settings) to `url`, e.g.
    /// `postgres://user:password@host/database`, with default options, and
    /// applies the schema ([`migrate`](Self::migrate)), as
    /// `SqliteStore::connect` does. To apply the schema with your own
    /// tooling instead, build the store with [`new`](Self::new) or
    /// [`with_options`](Self::with_options) on a pool of your own.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects a new pool to `url` with `options`, and applies the schema
    /// like [`connect`](Self::connect).
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .connect(url)
            .await
            .map_err(|e| backend("connecting to the database", e))?;
        let store = Self::with_options(pool, options);
        store.migrate().await?;
        Ok(store)
    }

    /// The pool, for the caller's own queries and transactions.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema holding the store's tables.
    pub fn schema(&self) -> &SchemaName {
        self.options.schema()
    }

    /// The store's options.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    pub(crate) fn sql(&self) -> &Queries {
        &self.sql
    }

    pub(crate) fn announcer(&self) -> &Arc<FeedAnnouncer> {
        &self.announcer
    }

    /// The signal of the store's feed listener (see `listen.rs`), started on
    /// first use; shared by every clone of the store.
    pub(crate) fn listener_signal(&self) -> Option<factum_core::FeedSignal> {
        self.listener.signal(&self.pool, self.schema())
    }

    /// The `application_name` of the connection that listens for new
    /// events (see [`feed_signal`](factum_core::EventReader::feed_signal)),
    /// to find it in `pg_stat_activity`: `factum-listen <schema>`, cut to
    /// 63 bytes.
    pub fn feed_listener_name(&self) -> String {
        listen::application_name(self.schema())
    }
}
