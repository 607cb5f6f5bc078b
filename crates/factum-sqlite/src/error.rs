//! Turning sqlx and decoding failures into [`factum_core::Error`],
//! and what a failed attempt of an append means.

use factum_core::backend::NegativeStoredValue;
use factum_core::{BoxError, Error};
use sqlx::error::ErrorKind;

/// The backend name every error of this crate carries.
pub(crate) const BACKEND: &str = "sqlite";

/// A backend error that names what the store was doing:
/// [`Error::Unavailable`] when the database stayed locked by another
/// connection longer than the store waits ([`is_busy`]), or no connection
/// could be had in time; else [`Error::Backend`].
pub(crate) fn backend(operation: impl Into<String>, source: impl Into<BoxError>) -> Error {
    let source = source.into();
    if source
        .downcast_ref::<sqlx::Error>()
        .is_some_and(|e| is_busy(e) || matches!(e, sqlx::Error::PoolTimedOut))
    {
        Error::unavailable(BACKEND, operation, source)
    } else {
        Error::backend(BACKEND, operation, source)
    }
}

/// The error of each of several appends that one failed call ended (a
/// batch's shared transaction): as [`backend`] makes it, the source given as
/// its text, since an sqlx error cannot be copied.
pub(crate) fn backend_shared(operation: impl Into<String>, source: &sqlx::Error) -> Error {
    let text: BoxError = source.to_string().into();
    if is_busy(source) || matches!(source, sqlx::Error::PoolTimedOut) {
        Error::unavailable(BACKEND, operation, text)
    } else {
        Error::backend(BACKEND, operation, text)
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

/// Why one attempt of an append failed.
pub(crate) enum Failure {
    /// The append was refused (a version conflict); nothing was written.
    Refused(Error),
    /// SQLite failed.
    Sql(sqlx::Error),
    /// A stored value could not be decoded, or the backend broke one of
    /// its own invariants.
    Other(BoxError),
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self::Sql(error)
    }
}

impl From<BoxError> for Failure {
    fn from(error: BoxError) -> Self {
        Self::Other(error)
    }
}

impl From<NegativeStoredValue> for Failure {
    fn from(error: NegativeStoredValue) -> Self {
        Self::Other(error.into())
    }
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
}
