//! Test harness (feature `testing`): a fresh, empty schema per test, on a
//! real server, removed when the test ends.
//!
//! The server is the one named by `DATABASE_URL` when it is set (each test
//! gets its own schema there, and drops it). When `DATABASE_URL` is unset,
//! the first test of the process starts a throwaway cluster, shared by every
//! test of the process, from the installed PostgreSQL server binaries
//! (`initdb` and `postgres`, found on `PATH`, else in the newest
//! `/usr/lib/postgresql/<version>/bin`, where Debian puts them; when there
//! are none, the tests fail with a one-line error naming the package to
//! install). The cluster lives in a temporary directory and listens on a
//! free port of 127.0.0.1 (and a socket in that directory), with trust
//! authentication for the superuser `postgres`. As root, `initdb` and the
//! server run as the `postgres` system user (else `nobody`), without
//! `sudo`. Rust never drops statics, so a small watchdog process (`sh`)
//! holds a pipe from the test process: when the test process ends, however
//! it ends, the pipe closes and the watchdog stops the server and deletes
//! its directory.
//!
//! For tests of least privilege, [`TestRole`] is a login role granted what
//! the crate's `roles/read_and_append.sql` grants (that file, run as is),
//! and [`TestDatabase`] a database of its own, for code that always uses the
//! default schema; both are removed when dropped, like the schema.
//!
//! ```no_run
//! # async fn demo() -> factum_core::Result<()> {
//! use factum_postgres::testing::TestSchema;
//!
//! let (store, schema) = TestSchema::store().await?;
//! // ... use `store`; the schema is dropped with `schema`.
//! # Ok(()) }
//! ```

mod binaries;
mod cluster;
mod own;
mod role;
mod server;

pub use own::{OwnServer, Shutdown};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use factum_core::Result;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor};

use crate::connect::first_connection;
use crate::error::backend;
use crate::{PostgresOptions, PostgresStore, SchemaName};
use server::Server;

pub use role::{TestDatabase, TestRole};

/// Connections each test store's pool may open.
const POOL_SIZE: u32 = 8;
/// How long to wait for a freshly started server to accept connections.
const STARTUP: Duration = Duration::from_secs(30);

/// A schema created for one test, dropped with everything in it when this
/// value is dropped.
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    schema: SchemaName,
}

impl TestSchema {
    /// Creates an empty schema with a unique name on the test server.
    pub async fn create() -> Result<Self> {
        let server = server().await?;
        let name = unique_name("factum_test");
        let schema = SchemaName::new(name).map_err(|e| backend("naming a test schema", e))?;
        execute(
            server.url(),
            format!("CREATE SCHEMA {}", schema.quoted()),
            || format!("creating test schema {schema}"),
        )
        .await?;
        Ok(Self {
            url: server.url().to_owned(),
            schema,
        })
    }

    /// A migrated store in a fresh schema, with the options `options` (whose
    /// schema is replaced by the test schema), and the guard of the schema.
    pub async fn store_with(options: PostgresOptions) -> Result<(PostgresStore, Self)> {
        let schema = Self::create().await?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect(&schema.url)
            .await
            .map_err(|e| backend("connecting to the test server", e))?;
        let store = PostgresStore::with_options(pool, options.with_schema(schema.schema.clone()));
        store.migrate().await?;
        Ok((store, schema))
    }

    /// A migrated store in a fresh schema, with default options.
    pub async fn store() -> Result<(PostgresStore, Self)> {
        Self::store_with(PostgresOptions::default()).await
    }

    /// The URL of the test server's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }
}

impl Drop for TestSchema {
    /// Drops the schema, on a thread of its own (see `execute_detached`).
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema.quoted());
        if let Err(e) = execute_detached(&self.url, sql) {
            eprintln!("could not drop test schema {}: {e}", self.schema);
        }
    }
}

/// Runs `sql` (one or more statements) on a connection of its own to `url`,
/// on a thread of its own with its own runtime, so that it works inside and
/// outside an async context: what a guard's `drop` runs. Sessions that
/// block it are ended ([`execute_ending_blockers`]).
fn execute_detached(url: &str, sql: String) -> std::result::Result<(), String> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(execute_ending_blockers(&url, sql))
            .map_err(|e| e.to_string())
    })
    .join()
    .unwrap_or_else(|_| Err("the thread running the statements panicked".to_owned()))
}

/// `prefix` followed by the process id, a counter and eight random hex
/// digits (from a UUIDv7): unique on the server across processes.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let text = uuid::Uuid::now_v7().simple().to_string();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        &text[text.len() - 8..],
    )
}

/// The test server, started if needed (which blocks for a few seconds,
/// once per process).
async fn server() -> Result<&'static Server> {
    tokio::task::spawn_blocking(Server::get)
        .await
        .map_err(|e| backend("finding the test server", e))?
        .map_err(|e| backend("starting the test server", e))
}

/// Runs `sql` (one or more statements) on a connection of its own to `url`;
/// a failure names `operation`.
async fn execute(url: &str, sql: String, operation: impl FnOnce() -> String) -> Result<()> {
    let mut conn = connect(url).await?;
    let done = conn.execute(sqlx::raw_sql(AssertSqlSafe(sql))).await;
    let _ = conn.close().await;
    done.map(|_| ()).map_err(|e| backend(operation(), e))
}

/// Runs `sql` like [`execute`], ending every session that blocks it, as
/// often as one does: a guard's cleanup (dropping a test's schema, role or
/// database) is blocked only by sessions of that test (a task that
/// panicked in a transaction, a pool dropped with its runtime), which would
/// otherwise make it, and the test process, wait for ever.
async fn execute_ending_blockers(url: &str, sql: String) -> Result<()> {
    let operation = "cleaning up after a test";
    let mut conn = connect(url).await?;
    let mut watcher = connect(url).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| backend(operation, e))?;
    let done = {
        let run = conn.execute(sqlx::raw_sql(AssertSqlSafe(sql)));
        tokio::pin!(run);
        loop {
            tokio::select! {
                done = &mut run => break done,
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    // Best effort: a failure here only leaves the wait on.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(b) FROM unnest(pg_blocking_pids($1)) AS b",
                    )
                    .bind(pid)
                    .execute(&mut watcher)
                    .await;
                }
            }
        }
    };
    let _ = watcher.close().await;
    let _ = conn.close().await;
    done.map(|_| ()).map_err(|e| backend(operation, e))
}

/// Connects to `url`, retrying while a just-started server is not ready.
async fn connect(url: &str) -> Result<PgConnection> {
    let options = url
        .parse()
        .map_err(|e| backend("parsing the test server's URL", e))?;
    first_connection(&options, STARTUP).await
}

/// The advisory lock keys an append of untagged events of `event_types`
/// shares (see migration 0010), as the store binds them to its
/// one-statement appends (`$9` of `append_single.sql` and
/// `append_one.sql`): for benchmarks that send those statements by hand.
pub fn append_lock_keys(store: &PostgresStore, event_types: &[&str]) -> Vec<i64> {
    let events: Vec<factum_core::EventData> = event_types
        .iter()
        .map(|t| factum_core::EventData::json(*t, Vec::new()))
        .collect();
    let keys = crate::locks::LockKeys::new(store.schema().as_str(), &events, None);
    keys.keys()
}

/// The text of one of `store`'s prepared statements, by the name of its file
/// in `src/sql/` without `.sql` (e.g. `"read_all"`), for tests that EXPLAIN
/// them.
pub fn statement_text(store: &PostgresStore, name: &str) -> Option<String> {
    let sql = store.sql();
    let text = match name {
        "append" => &sql.append,
        "append_one" => &sql.append_one,
        "append_single" => &sql.append_single,
        "read_stream_forward" => &sql.read_stream_forward,
        "read_stream_backward" => &sql.read_stream_backward,
        "read_all" => &sql.read_all,
        "read_feed" => &sql.read_feed,
        "read_feed_tagged" => &sql.read_feed_tagged,
        "head_position" => &sql.head_position,
        "stream_version" => &sql.stream_version,
        _ => return None,
    };
    Some(text.to_string())
}
