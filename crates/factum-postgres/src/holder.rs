//! [`FeedHolder`]: a transaction that holds the PostgreSQL feed back.

use chrono::{DateTime, Utc};

/// A running transaction that writes events and holds the
/// global feed back: events committed after it started wait until it ends (see
/// [`PostgresStore::feed_held_back_by`](crate::PostgresStore::feed_held_back_by)).
/// To let the feed go on, end it, e.g. with `SELECT pg_terminate_backend(pid)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedHolder {
    /// Its transaction id (the first part of the positions it will write).
    pub transaction_id: u64,
    /// The backend process running it, as in `pg_stat_activity.pid`; `None`
    /// for a prepared (two-phase) transaction, or one that ended just now.
    pub pid: Option<i32>,
    /// When its transaction began (`pg_stat_activity.xact_start`); `None`
    /// when unknown (see `pid`), or when the caller's role may not see that
    /// session (a superuser, its own role and members of `pg_read_all_stats`
    /// may).
    pub since: Option<DateTime<Utc>>,
    /// Its session's state, e.g. `idle in transaction`.
    pub state: Option<String>,
    /// Its session's `application_name`.
    pub application_name: Option<String>,
}
