//! The baseline each workload is measured against: the same rows written
//! and read with no event store in between, as a user would by hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::model::Row as EventRow;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The metadata both sides write: an empty JSON object.
const NO_METADATA: &str = "{}";

/// Plain storage of event rows and snapshots: one append is one statement
/// (or, in memory, one push under a lock).
#[async_trait]
pub(crate) trait Baseline: Send + Sync {
    /// Writes `rows` to `stream` at versions `first_version..`, as one
    /// statement; a taken version fails (the primary key is the only check).
    async fn append(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError>;

    /// The payloads of `stream` after version `after`, by version.
    async fn read(&self, stream: &str, after: u64) -> Result<Vec<Vec<u8>>, BoxError>;

    /// Stores (replaces) the snapshot of `stream`.
    async fn save_snapshot(&self, stream: &str, version: u64, state: &[u8])
    -> Result<(), BoxError>;

    /// The snapshot of `stream`: its version and state.
    async fn load_snapshot(&self, stream: &str) -> Result<Option<(u64, Vec<u8>)>, BoxError>;

    /// Releases connections (the store's too, where they share them).
    async fn close(&self) {}
}

fn version(v: u64) -> Result<i64, BoxError> {
    Ok(i64::try_from(v)?)
}

/// A map of vectors under one lock: what a hand-written in-memory store is.
#[derive(Default)]
pub(crate) struct MemoryBaseline {
    streams: Mutex<HashMap<String, Vec<EventRow>>>,
    snapshots: Mutex<HashMap<String, (u64, Vec<u8>)>>,
}

#[async_trait]
impl Baseline for MemoryBaseline {
    async fn append(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        let mut streams = self.streams.lock().map_err(|_| "poisoned")?;
        let events = streams.entry(stream.to_owned()).or_default();
        if events.len() as u64 + 1 != first_version {
            return Err(format!("version {first_version} of {stream} is taken").into());
        }
        events.extend(rows.iter().cloned());
        Ok(())
    }

    async fn read(&self, stream: &str, after: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let streams = self.streams.lock().map_err(|_| "poisoned")?;
        Ok(streams
            .get(stream)
            .map(|rows| {
                rows.iter()
                    .skip(after as usize)
                    .map(|r| r.payload.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn save_snapshot(
        &self,
        stream: &str,
        version: u64,
        state: &[u8],
    ) -> Result<(), BoxError> {
        let mut snapshots = self.snapshots.lock().map_err(|_| "poisoned")?;
        snapshots.insert(stream.to_owned(), (version, state.to_vec()));
        Ok(())
    }

    async fn load_snapshot(&self, stream: &str) -> Result<Option<(u64, Vec<u8>)>, BoxError> {
        let snapshots = self.snapshots.lock().map_err(|_| "poisoned")?;
        Ok(snapshots.get(stream).cloned())
    }
}

/// Plain sqlx calls on a hand-written events table in the store's schema,
/// through the store's pool.
pub(crate) struct PostgresBaseline {
    pool: PgPool,
    insert_one: Arc<str>,
    insert_many: Arc<str>,
    read: Arc<str>,
    save_snapshot: Arc<str>,
    load_snapshot: Arc<str>,
}

impl PostgresBaseline {
    /// Creates the baseline's tables in `schema` (a quoted identifier).
    pub(crate) async fn create(pool: PgPool, schema: &str) -> Result<Self, BoxError> {
        let s = schema;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE TABLE {s}.plain_events (
                 stream_id   text        NOT NULL,
                 version     bigint      NOT NULL,
                 event_id    uuid        NOT NULL,
                 event_type  text        NOT NULL,
                 payload     jsonb       NOT NULL,
                 metadata    jsonb       NOT NULL,
                 recorded_at timestamptz NOT NULL DEFAULT now(),
                 PRIMARY KEY (stream_id, version)
             );
             CREATE TABLE {s}.plain_snapshots (
                 stream_id text   PRIMARY KEY,
                 version   bigint NOT NULL,
                 state     bytea  NOT NULL
             );"
        )))
        .execute(&pool)
        .await?;
        Ok(Self {
            pool,
            insert_one: format!(
                "INSERT INTO {s}.plain_events (stream_id, version, event_id, event_type, payload, metadata) \
                 VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)"
            )
            .into(),
            insert_many: format!(
                "INSERT INTO {s}.plain_events (stream_id, version, event_id, event_type, payload, metadata) \
                 SELECT $1, $2 + u.ord - 1, u.id, u.typ, u.payload::jsonb, u.meta::jsonb \
                 FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[]) \
                     WITH ORDINALITY AS u(id, typ, payload, meta, ord)"
            )
            .into(),
            read: format!(
                "SELECT payload::text FROM {s}.plain_events \
                 WHERE stream_id = $1 AND version > $2 ORDER BY version"
            )
            .into(),
            save_snapshot: format!(
                "INSERT INTO {s}.plain_snapshots (stream_id, version, state) VALUES ($1, $2, $3) \
                 ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state"
            )
            .into(),
            load_snapshot: format!(
                "SELECT version, state FROM {s}.plain_snapshots WHERE stream_id = $1"
            )
            .into(),
        })
    }
}

#[async_trait]
impl Baseline for PostgresBaseline {
    async fn append(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        let first = version(first_version)?;
        if let [row] = rows {
            sqlx::query(AssertSqlSafe(self.insert_one.clone()))
                .bind(stream)
                .bind(first)
                .bind(row.event_id)
                .bind(row.event_type)
                .bind(std::str::from_utf8(&row.payload)?)
                .bind(NO_METADATA)
                .execute(&self.pool)
                .await?;
            return Ok(());
        }
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.event_id).collect();
        let types: Vec<&str> = rows.iter().map(|r| r.event_type).collect();
        let payloads = rows
            .iter()
            .map(|r| std::str::from_utf8(&r.payload))
            .collect::<Result<Vec<&str>, _>>()?;
        let metadata = vec![NO_METADATA; rows.len()];
        sqlx::query(AssertSqlSafe(self.insert_many.clone()))
            .bind(stream)
            .bind(first)
            .bind(&ids)
            .bind(&types)
            .bind(&payloads)
            .bind(&metadata)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn read(&self, stream: &str, after: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let rows = sqlx::query(AssertSqlSafe(self.read.clone()))
            .bind(stream)
            .bind(version(after)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>(0)?.into_bytes()))
            .collect()
    }

    async fn save_snapshot(&self, stream: &str, at: u64, state: &[u8]) -> Result<(), BoxError> {
        sqlx::query(AssertSqlSafe(self.save_snapshot.clone()))
            .bind(stream)
            .bind(version(at)?)
            .bind(state)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn load_snapshot(&self, stream: &str) -> Result<Option<(u64, Vec<u8>)>, BoxError> {
        let row = sqlx::query(AssertSqlSafe(self.load_snapshot.clone()))
            .bind(stream)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some((
                u64::try_from(row.try_get::<i64, _>(0)?)?,
                row.try_get(1)?,
            ))),
            None => Ok(None),
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Plain sqlx calls on a hand-written events table in the store's file:
/// writes on one connection of its own (the store, too, writes through
/// one), reads on a reader connection the store lends.
pub(crate) struct SqliteBaseline {
    store: factum::sqlite::SqliteStore,
    writer: tokio::sync::Mutex<Option<SqliteConnection>>,
    /// The multi-row INSERT of n rows, by n.
    inserts: Mutex<HashMap<usize, Arc<str>>>,
}

impl SqliteBaseline {
    /// Creates the baseline's tables in the store's file, with a writer
    /// connection opened with `options` and the store's `synchronous` level.
    pub(crate) async fn create(
        store: factum::sqlite::SqliteStore,
        options: sqlx::sqlite::SqliteConnectOptions,
    ) -> Result<Self, BoxError> {
        let synchronous: i64 = {
            let mut conn = store.read_connection().await?;
            sqlx::query("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?
        };
        let mut writer = sqlx::ConnectOptions::connect(&options).await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PRAGMA synchronous = {synchronous};
             CREATE TABLE plain_events (
                 stream_id   TEXT    NOT NULL,
                 version     INTEGER NOT NULL,
                 event_id    BLOB    NOT NULL,
                 event_type  TEXT    NOT NULL,
                 payload     TEXT    NOT NULL,
                 metadata    TEXT    NOT NULL,
                 recorded_at TEXT    NOT NULL,
                 PRIMARY KEY (stream_id, version)
             );
             CREATE TABLE plain_snapshots (
                 stream_id TEXT    PRIMARY KEY,
                 version   INTEGER NOT NULL,
                 state     BLOB    NOT NULL
             );"
        )))
        .execute(&mut writer)
        .await?;
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut writer)
            .await?
            .try_get(0)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("the baseline's journal mode is {mode}, not WAL").into());
        }
        Ok(Self {
            store,
            writer: tokio::sync::Mutex::new(Some(writer)),
            inserts: Mutex::default(),
        })
    }

    fn insert(&self, rows: usize) -> Result<Arc<str>, BoxError> {
        let mut inserts = self.inserts.lock().map_err(|_| "poisoned")?;
        Ok(inserts
            .entry(rows)
            .or_insert_with(|| {
                // (stream, version, id, type, payload, metadata, recorded_at)
                let tuples: Vec<String> = (0..rows)
                    .map(|i| {
                        let p = 2 + i * 6;
                        format!(
                            "(?1, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                            p,
                            p + 1,
                            p + 2,
                            p + 3,
                            p + 4,
                            p + 5
                        )
                    })
                    .collect();
                format!(
                    "INSERT INTO plain_events \
                     (stream_id, version, event_id, event_type, payload, metadata, recorded_at) \
                     VALUES {}",
                    tuples.join(", ")
                )
                .into()
            })
            .clone())
    }
}

#[async_trait]
impl Baseline for SqliteBaseline {
    async fn append(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        let sql = self.insert(rows.len())?;
        let first = version(first_version)?;
        let recorded_at = chrono::Utc::now();
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(stream);
        for (i, row) in rows.iter().enumerate() {
            query = query
                .bind(first + i as i64)
                .bind(row.event_id)
                .bind(row.event_type)
                .bind(std::str::from_utf8(&row.payload)?)
                .bind(NO_METADATA)
                .bind(recorded_at);
        }
        let mut writer = self.writer.lock().await;
        let conn = writer.as_mut().ok_or("closed")?;
        query.execute(conn).await?;
        Ok(())
    }

    async fn read(&self, stream: &str, after: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let mut conn = self.store.read_connection().await?;
        let rows = sqlx::query(
            "SELECT payload FROM plain_events WHERE stream_id = ?1 AND version > ?2 \
             ORDER BY version",
        )
        .bind(stream)
        .bind(version(after)?)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>(0)?.into_bytes()))
            .collect()
    }

    async fn save_snapshot(&self, stream: &str, at: u64, state: &[u8]) -> Result<(), BoxError> {
        let mut writer = self.writer.lock().await;
        let conn = writer.as_mut().ok_or("closed")?;
        sqlx::query(
            "INSERT INTO plain_snapshots (stream_id, version, state) VALUES (?1, ?2, ?3) \
             ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = excluded.state",
        )
        .bind(stream)
        .bind(version(at)?)
        .bind(state)
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn load_snapshot(&self, stream: &str) -> Result<Option<(u64, Vec<u8>)>, BoxError> {
        let mut conn = self.store.read_connection().await?;
        let row = sqlx::query("SELECT version, state FROM plain_snapshots WHERE stream_id = ?1")
            .bind(stream)
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => Ok(Some((
                u64::try_from(row.try_get::<i64, _>(0)?)?,
                row.try_get(1)?,
            ))),
            None => Ok(None),
        }
    }

    async fn close(&self) {
        if let Some(conn) = self.writer.lock().await.take() {
            let _ = conn.close().await;
        }
        self.store.close().await;
    }
}
