//! Applying the schema: the migration files of the crate's `migrations/`
//! folder (linked from the repository's top-level `migrations/postgres`),
//! embedded at build time and run with sqlx's migrator.
//!
//! The migrator is built from `include_str!`ed files rather than with
//! `sqlx::migrate!`, which would need sqlx's `macros` feature (a proc-macro
//! build for one call) and gives nothing more here: both embed the files at
//! build time, and both record them in `_sqlx_migrations` with the same
//! checksums, so `sqlx migrate run` and [`PostgresStore::migrate`] agree.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, Connection, Executor, SqlSafeStr};

use crate::error::backend;
use crate::store::PostgresStore;

/// The migration files, in order: version, description, SQL.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "event store",
        include_str!("../migrations/0001_event_store.sql"),
    ),
    (
        2,
        "projections",
        include_str!("../migrations/0002_projections.sql"),
    ),
    (
        3,
        "lighter appends",
        include_str!("../migrations/0003_lighter_appends.sql"),
    ),
    (
        4,
        "bytewise identifiers",
        include_str!("../migrations/0004_bytewise_identifiers.sql"),
    ),
    (
        5,
        "feed ignores other databases",
        include_str!("../migrations/0005_feed_ignores_other_databases.sql"),
    ),
    (
        6,
        "feed waits for event writers",
        include_str!("../migrations/0006_feed_waits_for_event_writers.sql"),
    ),
    (
        7,
        "mixed duplicates refused",
        include_str!("../migrations/0007_mixed_duplicates_refused.sql"),
    ),
    (
        8,
        "parked events",
        include_str!("../migrations/0008_parked_events.sql"),
    ),
    (
        9,
        "recorded when written",
        include_str!("../migrations/0009_recorded_when_written.sql"),
    ),
    (
        10,
        "event tags and conditions",
        include_str!("../migrations/0010_event_tags_and_conditions.sql"),
    ),
    (
        11,
        "category index",
        include_str!("../migrations/0011_category_index.sql"),
    ),
];

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl PostgresStore {
    /// Creates the schema if needed and applies every migration not yet
    /// applied to it. Safe to call at every start, from several processes at
    /// once.
    ///
    /// When every migration is already applied (with the same checksums),
    /// it only reads the schema's `_sqlx_migrations` table and changes
    /// nothing, so a role without DDL rights (one that may only read and
    /// append) opens a store whose schema is current; it needs `USAGE` on
    /// the schema and `SELECT` on that table.
    ///
    /// The migrations run on a connection taken out of the pool whose
    /// `search_path` is set to the schema; the connection is closed
    /// afterwards, so the pool never sees the changed setting. The schema's
    /// own `_sqlx_migrations` table records what was applied.
    pub async fn migrate(&self) -> factum_core::Result<()> {
        let schema = self.schema().clone();
        let operation = || format!("migrating schema {schema}");
        if self
            .schema_is_current()
            .await
            .map_err(|e| backend(operation(), e))?
        {
            return Ok(());
        }
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(|e| backend(operation(), e))?
            .detach();
        let quoted = schema.quoted();
        let lock_key = format!("factum migrate {schema}");
        let result = async {
            sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
                .bind(&lock_key)
                .execute(&mut conn)
                .await?;
            conn.execute(AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {quoted}"
            )))
            .await?;
            conn.execute(AssertSqlSafe(format!("SET search_path TO {quoted}")))
                .await?;
            migrator()
                .run(&mut conn)
                .await
                .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        // Closing ends the session, which also releases the advisory lock.
        let closed = conn.close().await;
        result.map_err(|e| backend(operation(), e))?;
        closed.map_err(|e| backend(operation(), e))
    }

    /// Whether every migration is recorded as applied in the schema, with
    /// its checksum: reads only, and answers `false` when the schema or its
    /// `_sqlx_migrations` table does not exist yet.
    async fn schema_is_current(&self) -> Result<bool, sqlx::Error> {
        let quoted = self.schema().quoted();
        let table = format!("{quoted}._sqlx_migrations");
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(&table)
            .fetch_one(self.pool())
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT version, checksum FROM {table} WHERE success"
        )))
        .fetch_all(self.pool())
        .await?;
        Ok(migrator().iter().all(|migration| {
            applied.iter().any(|(version, checksum)| {
                *version == migration.version && checksum.as_slice() == &*migration.checksum
            })
        }))
    }
}
