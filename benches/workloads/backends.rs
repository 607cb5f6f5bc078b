//! The backends the runner measures, each able to make a fresh, empty
//! store and, beside it on the same server or file, a plain baseline.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use factum::memory::MemoryStore;
use factum::sqlite::{SqliteConnectOptions, SqliteStore};
use factum_postgres::testing::TestSchema;

use crate::baseline::{BoxError, MemoryBaseline, PostgresBaseline, SqliteBaseline};
use crate::workloads::Target;

#[async_trait(?Send)]
pub(crate) trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// What the backend runs on, for the report.
    async fn describe(&self) -> String;
    async fn fresh(&self) -> Result<Target, BoxError>;
}

struct Memory;

#[async_trait(?Send)]
impl Backend for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn describe(&self) -> String {
        "in process".into()
    }

    async fn fresh(&self) -> Result<Target, BoxError> {
        Ok(Target {
            store: Arc::new(MemoryStore::new()),
            baseline: Arc::new(MemoryBaseline::default()),
            _guard: Arc::new(()),
        })
    }
}

/// A fresh schema per target on the server the test harness finds
/// (`DATABASE_URL`) or starts (a throwaway cluster, from the installed
/// server binaries: `factum_postgres::testing`), dropped with the target.
struct Postgres;

#[async_trait(?Send)]
impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn describe(&self) -> String {
        let described = async {
            let (store, schema) = TestSchema::store().await?;
            let version: String = sqlx::query_scalar("SELECT version()")
                .fetch_one(store.pool())
                .await?;
            let fsync: String = sqlx::query_scalar("SHOW fsync")
                .fetch_one(store.pool())
                .await?;
            let commit: String = sqlx::query_scalar("SHOW synchronous_commit")
                .fetch_one(store.pool())
                .await?;
            store.pool().close().await;
            drop(schema);
            Ok::<_, BoxError>(format!(
                "{version}; fsync={fsync}, synchronous_commit={commit}"
            ))
        };
        described.await.unwrap_or_else(|e| format!("unknown ({e})"))
    }

    async fn fresh(&self) -> Result<Target, BoxError> {
        let (store, schema) = TestSchema::store().await?;
        let baseline = PostgresBaseline::create(&store, &schema.schema().quoted()).await?;
        Ok(Target {
            store: Arc::new(store),
            baseline: Arc::new(baseline),
            _guard: Arc::new(schema),
        })
    }
}

/// A fresh database file per target, in a directory removed with it.
struct Sqlite;

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[async_trait(?Send)]
impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn describe(&self) -> String {
        format!(
            "bundled SQLite, WAL, synchronous=FULL, files in {}",
            std::env::temp_dir().display()
        )
    }

    async fn fresh(&self) -> Result<Target, BoxError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = TempDir(std::env::temp_dir().join(format!(
            "factum-bench-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )));
        std::fs::create_dir_all(&dir.0)?;
        let options = SqliteConnectOptions::new()
            .filename(dir.0.join("events.db"))
            .busy_timeout(std::time::Duration::from_secs(5));
        let store = SqliteStore::connect_with(options.clone()).await?;
        let baseline = SqliteBaseline::create(store.clone(), options).await?;
        Ok(Target {
            store: Arc::new(store),
            baseline: Arc::new(baseline),
            _guard: Arc::new(dir),
        })
    }
}

/// Every backend compiled in.
pub(crate) async fn available() -> Result<Vec<Box<dyn Backend>>, BoxError> {
    Ok(vec![Box::new(Memory), Box::new(Sqlite), Box::new(Postgres)])
}
