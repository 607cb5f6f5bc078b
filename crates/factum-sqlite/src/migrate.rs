//! The schema: the files of the crate's `migrations/` folder (linked from
//! the repository's top-level `migrations/sqlite`), embedded in the crate
//! and applied by sqlx's migrator when a store opens.

use std::borrow::Cow;

use factum_core::Result;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Connection, SqlSafeStr};

use crate::error::backend;
use crate::sql;

/// The table in which the migrator records what it applied: factum's own,
/// so an application's sqlx migrations can share the file.
const MIGRATIONS_TABLE: &str = "_factum_migrations";

/// Every migration, oldest first: version, description, SQL. A test checks
/// that this lists exactly the files of the crate's `migrations/`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "factum schema",
        include_str!("../migrations/0001_factum_schema.sql"),
    ),
    (
        2,
        "parked events",
        include_str!("../migrations/0002_parked_events.sql"),
    ),
    (
        3,
        "recorded at index",
        include_str!("../migrations/0003_recorded_at_index.sql"),
    ),
    (
        4,
        "event tags",
        include_str!("../migrations/0004_event_tags.sql"),
    ),
];

/// The migrator over [`MIGRATIONS`], bookkeeping in [`MIGRATIONS_TABLE`].
fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

/// Applies the migrations not applied yet. The migrator runs inside a
/// `BEGIN IMMEDIATE` transaction (its own transactions become savepoints),
/// so two processes opening a new file at once migrate one after the other
/// instead of failing.
pub(crate) async fn migrate(conn: &mut SqliteConnection) -> Result<()> {
    let fail = |e: sqlx::Error| backend("migrating the factum schema", e);
    let mut tx = conn.begin_with(sql::BEGIN_IMMEDIATE).await.map_err(fail)?;
    // `run_direct` rather than `run`: with `run`, the future of `open` is
    // not `Send` ("implementation of `Acquire` is not general enough"), so
    // it could not be spawned. sqlx keeps `run_direct` public for this.
    migrator()
        .run_direct(None, &mut *tx, false)
        .await
        .map_err(|e| backend("migrating the factum schema", e))?;
    tx.commit().await.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<(i64, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let (version, _) = name.split_once('_').expect("files are VERSION_NAME.sql");
                (
                    version.parse().unwrap(),
                    std::fs::read_to_string(&path).unwrap(),
                )
            })
            .collect();
        files.sort();
        let embedded: Vec<(i64, String)> = MIGRATIONS
            .iter()
            .map(|&(version, _, sql)| (version, sql.to_owned()))
            .collect();
        assert_eq!(embedded, files);
    }
}
