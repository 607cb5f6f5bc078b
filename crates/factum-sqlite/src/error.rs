//! Turning sqlx and decoding failures into [`factum_core::Error::Backend`].

use factum_core::{BoxError, Error};
use sqlx::error::ErrorKind;

/// The backend name every error of this crate carries.
pub(crate) const BACKEND: &str = "sqlite";

/// A backend error that names what the store was doing.
pub(crate) fn backend(operation: impl Into<String>, source: impl Into<BoxError>) -> Error {
    Error::Backend {
        backend: BACKEND,
        operation: operation.into(),
        source: source.into(),
    }
}

/// Whether `error` is a UNIQUE or PRIMARY KEY violation: another writer
/// stored the same stream version, position or idempotency key first.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

/// Whether `error` is SQLite's `SQLITE_BUSY` (any extended code): another
/// connection holds a lock this one needs.
pub(crate) fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i64 = 5;
    matches!(error, sqlx::Error::Database(db)
        if db.code().and_then(|c| c.parse::<i64>().ok()).is_some_and(|c| c & 0xff == SQLITE_BUSY))
}

/// Converts a value read from SQLite's signed integers into the unsigned
/// versions and positions of factum; a negative one means the row was not
/// written by factum.
pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, BoxError> {
    u64::try_from(value).map_err(|_| format!("stored {what} {value} is negative").into())
}

/// Converts a version or position bound for binding; bounds beyond SQLite's
/// range are clamped, which selects the same rows.
pub(crate) fn to_i64_saturating(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Converts a count limit for binding, clamped like
/// [`to_i64_saturating`].
pub(crate) fn limit_to_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    use super::*;

    #[tokio::test]
    async fn classifies_real_sqlite_errors() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("errors.db"))
            .create_if_missing(true)
            .busy_timeout(Duration::ZERO);
        let mut a = options.connect().await.unwrap();
        let mut b = options.connect().await.unwrap();
        sqlx::query("CREATE TABLE t (k TEXT UNIQUE, n INTEGER CHECK (n > 0))")
            .execute(&mut a)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES ('x', 1)")
            .execute(&mut a)
            .await
            .unwrap();

        let unique = sqlx::query("INSERT INTO t VALUES ('x', 2)")
            .execute(&mut a)
            .await
            .unwrap_err();
        assert!(
            is_unique_violation(&unique) && !is_busy(&unique),
            "{unique}"
        );
        let check = sqlx::query("INSERT INTO t VALUES ('y', 0)")
            .execute(&mut a)
            .await
            .unwrap_err();
        assert!(!is_unique_violation(&check) && !is_busy(&check), "{check}");

        let _lock = a.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let busy = b
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(is_busy(&busy) && !is_unique_violation(&busy), "{busy}");
    }

    #[test]
    fn bounds_beyond_sqlite_are_clamped_and_negatives_refused() {
        assert_eq!(to_i64_saturating(u64::MAX), i64::MAX);
        assert_eq!(to_i64_saturating(7), 7);
        assert_eq!(limit_to_i64(usize::MAX), i64::MAX);
        assert_eq!(to_u64(3, "version").unwrap(), 3);
        assert!(
            to_u64(-1, "version")
                .unwrap_err()
                .to_string()
                .contains("-1")
        );
    }
}
