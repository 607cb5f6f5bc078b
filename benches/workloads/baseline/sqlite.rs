//! The SQLite baseline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Connection, Row};

use super::{Baseline, BoxError, NO_METADATA, feed_entry, version};
use crate::model::{FeedRow, Row as EventRow};

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
        sqlx::raw_sql(include_str!("sqlite_feed.sql"))
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

    async fn append_feed(&self, rows: &[FeedRow]) -> Result<(), BoxError> {
        let recorded_at = chrono::Utc::now();
        let mut writer = self.writer.lock().await;
        let conn = writer.as_mut().ok_or("closed")?;
        let mut tx = conn.begin().await?;
        for r in rows {
            sqlx::query(include_str!("sqlite_feed_insert.sql"))
                .bind(r.stream.as_str())
                .bind(version(r.version)?)
                .bind(r.row.event_id)
                .bind(r.row.event_type)
                .bind(std::str::from_utf8(&r.row.payload)?)
                .bind(NO_METADATA)
                .bind(recorded_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn read_feed(
        &self,
        event_type: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, BoxError> {
        let mut conn = self.store.read_connection().await?;
        let rows = sqlx::query(include_str!("sqlite_feed_page.sql"))
            .bind(event_type)
            .bind(version(after)?)
            .bind(i64::try_from(limit)?)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|row| feed_entry(row.try_get(0)?, row.try_get(1)?))
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
