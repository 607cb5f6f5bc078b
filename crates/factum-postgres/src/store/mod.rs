//! [`PostgresStore`]: the pool, the options and the prepared SQL. What the
//! store does lives beside this file, one role each: `append.rs`,
//! `read.rs`, `feed.rs`, `state.rs`.

mod append;
mod append_one;
mod commit;
mod feed;
mod parked;
mod range;
mod read;
mod state;
mod versions;

pub(crate) use parked::{park, unpark};

use std::sync::Arc;

use factum_core::Result;
use factum_core::backend::AppendQueue;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::announce::FeedAnnouncer;
use crate::connect::first_connection;
use crate::error::backend;
use crate::listen::{self, FeedListener};
use crate::sql::Queries;
use crate::{Lease, PostgresOptions, PostgresWorkerLease, SchemaName};

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
    /// One-stream appends waiting for the committer, which lets concurrent
    /// ones share a statement and its commit.
    appends: Arc<AppendQueue<commit::Request>>,
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
            appends: Arc::new(AppendQueue::new(commit::MAX_BATCH)),
        }
    }

    /// Connects a new pool to `url`, e.g.
    /// `postgres://user:password@host/database`, with default options, and
    /// applies the schema ([`migrate`](Self::migrate)), as
    /// `SqliteStore::connect` does. To apply the schema with your own
    /// tooling instead, build the store with [`new`](Self::new) or
    /// [`with_options`](Self::with_options) on a pool of your own.
    ///
    /// A server that cannot be reached within the connect timeout (10 s by
    /// default, see [`PostgresOptions::with_connect_timeout`]) fails with
    /// [`Error::Unavailable`](factum_core::Error::Unavailable) naming the
    /// server and the driver's reason:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use factum_postgres::{PostgresOptions, PostgresStore};
    ///
    /// let options = PostgresOptions::default().with_connect_timeout(Duration::from_millis(100));
    /// let err = PostgresStore::connect_with("postgres://app@127.0.0.1:1/orders", options)
    ///     .await
    ///     .expect_err("nothing listens on port 1");
    /// assert!(err.to_string().starts_with(
    ///     "postgres backend unavailable while connecting to 127.0.0.1:1, database orders \
    ///      (gave up after 100ms): "
    /// ));
    /// assert!(err.to_string().to_lowercase().contains("connection refused"));
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects a new pool to `url` with `options` (its size and connect
    /// timeout among them), and applies the schema like
    /// [`connect`](Self::connect).
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self> {
        let connect: PgConnectOptions = url
            .parse()
            .map_err(|e| backend("parsing the database URL", e))?;
        // sqlx's pool retries a refused connection until its timeout and
        // then reports only that it timed out; the first connection is made
        // here instead, so that a failure says why. The pool opens its own.
        let first = first_connection(&connect, options.connect_timeout()).await?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections())
            .acquire_timeout(options.connect_timeout())
            .connect_lazy_with(connect);
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

    /// A [`WorkerLease`](factum_core::WorkerLease) named `name` in this
    /// store's lease table, with `lease`'s time to live and holder: for a
    /// worker that must run in one process at a time among several (a
    /// NATS relay, say). Names share the table with projection runners'
    /// leases, which use their projection's name: give other workers
    /// names no projection has (`relay:EVENTS`).
    pub fn worker_lease(&self, name: impl Into<String>, lease: Lease) -> PostgresWorkerLease {
        PostgresWorkerLease::new(self, name, lease)
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
