//! [`PostgresStore`]: the pool, the options and the prepared SQL.

use std::sync::Arc;

use async_trait::async_trait;
use factum_core::{AppendResult, EventAppender, Result, StreamAppend, validate_appends};
use sqlx::PgConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::announce::FeedAnnouncer;
use crate::error::backend;
use crate::listen::{self, FeedListener};
use crate::sql::Queries;
use crate::{PostgresOptions, SchemaName};

/// An event store on PostgreSQL. Cheap to clone: clones share the pool.
///
/// See the [crate documentation](crate) for the schema, the guarantees and
/// their costs.
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
    pub fn new(pool: PgPool) -> Self {
        Self::with_options(pool, PostgresOptions::default())
    }

    /// A store on the pool `pool` with `options`.
    pub fn with_options(pool: PgPool, options: PostgresOptions) -> Self {
        let sql = Arc::new(Queries::new(options.schema_name()));
        let announcer = FeedAnnouncer::new(
            sql.notify_feed.clone(),
            listen::channel(options.schema_name()),
        );
        Self {
            pool,
            options: Arc::new(options),
            sql,
            listener: Arc::default(),
            announcer: Arc::new(announcer),
        }
    }

    /// Connects a new pool (sqlx's default pool settings) to `url`, e.g.
    /// `postgres://user:password@host/database`, with default options.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects a new pool to `url` with `options`.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .connect(url)
            .await
            .map_err(|e| backend("connecting to the database", e))?;
        Ok(Self::with_options(pool, options))
    }

    /// The pool, for the caller's own queries and transactions.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema holding the store's tables.
    pub fn schema(&self) -> &SchemaName {
        self.options.schema_name()
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

    /// Appends like [`EventAppender::append_many`], but on `conn`, inside the
    /// transaction open on it, so that events and the caller's own writes
    /// (a read model, a checkpoint) commit or roll back together. Pass a
    /// sqlx transaction as `&mut *tx`. The append runs in a savepoint: when it
    /// fails (a version conflict, say) the caller's transaction stays usable.
    /// On a connection with no open transaction it runs in one of its own.
    ///
    /// While the transaction stays open the global feed cannot pass its
    /// events, nor any event written after them (see the crate docs): keep
    /// such transactions short. Under READ COMMITTED (PostgreSQL's default) an
    /// append that loses a race to a concurrent one is retried like any
    /// other; under REPEATABLE READ or SERIALIZABLE the retry cannot see the
    /// winner, and the append fails with a backend error: retry the whole
    /// transaction.
    pub async fn append_in(
        &self,
        conn: &mut PgConnection,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        self.append_on(conn, &appends).await
    }
}

#[async_trait]
impl EventAppender for PostgresStore {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        let results = self.append_pooled(&appends).await?;
        self.announcer.committed(&self.pool);
        Ok(results)
    }
}
