//! Several streams' versions and the feed's head, read by one statement and
//! so from one snapshot (`sql/stream_states.sql`): what an append checks
//! under the write lock, and the point a multi-stream read
//! ([`EventReader::read_streams`](factum_core::EventReader::read_streams))
//! is read as of, on a reader connection.

use chrono::{DateTime, Utc};
use factum_core::backend::stored_u64;
use factum_core::{BoxError, StreamId, StreamVersions};
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use crate::decode::position;
use crate::sql;

/// Each stream's stored version (0 for none), in the order of the JSON
/// array `streams` (`count` of them), the feed's head (0 for none) and its
/// newest event's recorded time.
pub(super) struct StreamStates {
    pub(super) versions: Vec<i64>,
    pub(super) head: i64,
    pub(super) newest: Option<DateTime<Utc>>,
}

/// The state of the `count` streams named by the JSON array `streams`, read
/// on `conn` in one statement.
pub(super) async fn stream_states(
    conn: &mut SqliteConnection,
    streams: &str,
    count: usize,
) -> Result<StreamStates, BoxError> {
    let rows = sqlx::query(sql::STREAM_STATES)
        .bind(streams)
        .fetch_all(&mut *conn)
        .await?;
    if rows.len() != count {
        return Err(format!(
            "the stream state query gave {} rows for {count} streams",
            rows.len()
        )
        .into());
    }
    let mut states = StreamStates {
        versions: Vec::with_capacity(count),
        head: 0,
        newest: None,
    };
    for row in &rows {
        states
            .versions
            .push(row.try_get::<Option<i64>, _>(1)?.unwrap_or(0));
        states.head = row.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
        states.newest = row.try_get(3)?;
    }
    Ok(states)
}

/// The feed's head and each of `streams`' versions there, read on `conn` in
/// one statement: a consistent point, since every statement reads one
/// snapshot and positions are assigned in commit order.
pub(super) async fn versions_at_head(
    conn: &mut SqliteConnection,
    streams: &[StreamId],
) -> Result<StreamVersions, BoxError> {
    let names: Vec<&str> = streams.iter().map(StreamId::as_str).collect();
    let json = serde_json::to_string(&names)?;
    let states = stream_states(conn, &json, streams.len()).await?;
    let versions = states
        .versions
        .into_iter()
        .map(|v| {
            (v > 0)
                .then(|| stored_u64(v, "a stream version"))
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    Ok(StreamVersions {
        position: (states.head > 0)
            .then(|| position(states.head))
            .transpose()?,
        versions,
    })
}
