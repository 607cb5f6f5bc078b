//! Turning database failures into [`factum_core::Error`], and what a failed
//! attempt of an append means: retry, or fail for good.

use factum_core::backend::{NegativeStoredValue, check_duplicates, describe_appends, stored_u64};
use factum_core::{AppendCondition, BoxError, Error, StreamAppend, StreamId};
use sqlx::postgres::PgDatabaseError;

use crate::xid8::Xid8;

/// SQLSTATE raised by `append_events` on a version conflict.
const CONFLICT: &str = "FX409";
/// SQLSTATE raised by `append_events` when a key was stored concurrently.
const RETRY: &str = "FX40R";
/// `append_events`: the call mixes stored and new events (DETAIL: the
/// stored keys, a JSON array).
const MIXED: &str = "FX40M";
/// `append_events`: the append's condition failed (DETAIL: the first
/// conflicting event, a JSON object).
const CONDITION_FAILED: &str = "FX412";
/// SQLSTATE of a deadlock the server broke by failing this statement.
const DEADLOCK: &str = "40P01";
/// SQLSTATE of a unique violation.
const UNIQUE_VIOLATION: &str = "23505";
/// The unique index on idempotency keys.
const KEY_INDEX: &str = "events_idempotency_key_idx";
/// The primary key (stream_id, stream_version).
const VERSION_INDEX: &str = "events_pkey";
/// The error of a failed database call, naming what the store was doing:
/// [`Error::Unavailable`] when the server could not be reached or went away
/// ([`is_unavailable`]), else [`Error::Backend`]. An error the server
/// reported becomes a [`ServerError`].
pub(crate) fn backend(operation: impl Into<String>, source: impl Into<BoxError>) -> Error {
    let source = source.into();
    let unavailable = source
        .downcast_ref::<sqlx::Error>()
        .is_some_and(is_unavailable);
    let source = ServerError::wrap(source);
    if unavailable {
        Error::unavailable("postgres", operation, source)
    } else {
        Error::backend("postgres", operation, source)
    }
}

/// The error of each of several appends that one failed statement ended
/// (a batch's shared statement), named `operation`: transient when
/// `error` is, its text as the source, since an error cannot be copied.
pub(crate) fn shared_failure(operation: String, error: &Error) -> Error {
    let text: BoxError = error.to_string().into();
    if error.is_transient() {
        Error::unavailable("postgres", operation, text)
    } else {
        Error::backend("postgres", operation, text)
    }
}

/// An error the server reported, shown as PostgreSQL words it: its message,
/// SQLSTATE and detail (`relation "x" does not exist (SQLSTATE 42P01)`),
/// without sqlx's "error returned from database" and the line of the
/// server's own source code that sqlx appends ("at line 948"), which
/// readers take for a line of their SQL. The sqlx error is its
/// [`source`](std::error::Error::source).
#[derive(Debug)]
pub(crate) struct ServerError(sqlx::Error);

impl ServerError {
    /// `source` as a [`ServerError`] when it is an error the server
    /// reported; anything else unchanged.
    fn wrap(source: BoxError) -> BoxError {
        match source.downcast::<sqlx::Error>() {
            Ok(error) if error.as_database_error().is_some() => Box::new(Self(*error)),
            Ok(error) => error,
            Err(other) => other,
        }
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(db) = self.0.as_database_error() else {
            return self.0.fmt(f);
        };
        match db.try_downcast_ref::<PgDatabaseError>() {
            Some(pg) => {
                write!(f, "{} (SQLSTATE {})", pg.message(), pg.code())?;
                match pg.detail() {
                    Some(detail) => write!(f, ": {detail}"),
                    None => Ok(()),
                }
            }
            None => f.write_str(db.message()),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Whether `error` says the server could not be reached or went away, so
/// that the same call can succeed later: the connection broke or could not
/// be had in time, or the server is shutting down, restarting, recovering,
/// out of connection slots, or ended the session for sitting idle.
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exceptions.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    // admin_shutdown, crash_shutdown, cannot_connect_now,
                    // idle_session_timeout
                    "57P01" | "57P02" | "57P03" | "57P05"
                    // too_many_connections
                    | "53300"
                    // idle_in_transaction_session_timeout
                    | "25P03"
                )
        }),
        _ => false,
    }
}

/// A stored integer that must not be negative, as `u64`.
pub(crate) fn unsigned(value: i64, what: &'static str) -> Result<u64, Error> {
    stored_u64(value, what).map_err(|e: NegativeStoredValue| backend(format!("decoding {what}"), e))
}

/// What a failed call means.
pub(crate) enum Failure {
    /// A concurrent append stored a key first: try again.
    Retry,
    /// The call failed for good.
    Fatal(Error),
}

pub(crate) fn classify(err: sqlx::Error, appends: &[StreamAppend]) -> Failure {
    if let Some(db) = err
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<PgDatabaseError>())
    {
        match db.code() {
            RETRY | DEADLOCK => return Failure::Retry,
            UNIQUE_VIOLATION
                if matches!(db.constraint(), Some(KEY_INDEX) | Some(VERSION_INDEX)) =>
            {
                return Failure::Retry;
            }
            CONFLICT => {
                if let Some(conflict) = conflict_error(db.detail(), appends) {
                    return Failure::Fatal(conflict);
                }
            }
            MIXED => {
                if let Some(mixed) = mixed_error(db.detail(), appends) {
                    return Failure::Fatal(mixed);
                }
            }
            _ => {}
        }
    }
    Failure::Fatal(backend(describe_appends(appends), err))
}

/// The [`Error::ConditionFailed`] of a failed conditional append, from the
/// DETAIL `append_events` gives (the first conflicting event); `None` when
/// `err` is something else.
pub(crate) fn condition_failed(err: &sqlx::Error, condition: &AppendCondition) -> Option<Error> {
    let db = err
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<PgDatabaseError>())
        .filter(|db| db.code() == CONDITION_FAILED)?;
    let conflict: serde_json::Value = serde_json::from_str(db.detail()?).ok()?;
    let number = |field: &str| conflict[field].as_u64();
    let text = |field: &str| conflict[field].as_str();
    let seq = i64::try_from(number("seq")?).ok()?;
    Some(condition.failed(
        Xid8(number("commit")?).position(seq).ok()?,
        StreamId::new(text("stream")?).ok()?,
        number("version")?,
        text("type")?.to_owned(),
    ))
}

/// Builds the `VersionConflict` from the DETAIL `"<stream index>:<actual>"`.
fn conflict_error(detail: Option<&str>, appends: &[StreamAppend]) -> Option<Error> {
    let (index, actual) = detail?.split_once(':')?;
    let append = appends.get(index.parse::<usize>().ok()?.checked_sub(1)?)?;
    let actual = match actual {
        "" => None,
        version => Some(version.parse::<u64>().ok()?),
    };
    Some(Error::VersionConflict {
        stream: append.stream_id.clone(),
        expected: append.expected,
        actual,
    })
}

/// Builds the `MixedDuplicates` from the DETAIL, the stored keys as a JSON
/// array.
fn mixed_error(detail: Option<&str>, appends: &[StreamAppend]) -> Option<Error> {
    let stored: Vec<String> = serde_json::from_str(detail?).ok()?;
    check_duplicates(appends, |key| stored.iter().any(|k| k == key)).err()
}

/// The error of an append that lost a race to concurrent appends more often
/// than it may retry.
pub(crate) fn gave_up(appends: &[StreamAppend]) -> Error {
    backend(
        describe_appends(appends),
        "concurrent appends kept changing what this append depends on",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use factum_core::{EventData, ExpectedVersion, StreamId};

    fn append(name: &str, expected: ExpectedVersion) -> StreamAppend {
        StreamAppend::new(
            StreamId::new(name).unwrap(),
            expected,
            vec![EventData::json("E", b"{}".to_vec())],
        )
    }

    #[test]
    fn conflict_detail_names_stream_and_actual_version() {
        let appends = [
            append("a", ExpectedVersion::Any),
            append("b", ExpectedVersion::Exact(3)),
        ];
        match conflict_error(Some("2:7"), &appends) {
            Some(Error::VersionConflict {
                stream,
                expected,
                actual,
            }) => {
                assert_eq!(stream.as_str(), "b");
                assert_eq!(expected, ExpectedVersion::Exact(3));
                assert_eq!(actual, Some(7));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            conflict_error(Some("1:"), &appends),
            Some(Error::VersionConflict { actual: None, .. })
        ));
        assert!(conflict_error(Some("3:1"), &appends).is_none());
        assert!(conflict_error(Some("0:1"), &appends).is_none());
        assert!(conflict_error(None, &appends).is_none());
    }
}
