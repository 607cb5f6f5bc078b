//! The common append in one statement: a few events without idempotency
//! keys to one stream. `append_one.sql` reads the stream's version and
//! the feed's head, checks the expectation and inserts, all in one INSERT …
//! SELECT … RETURNING, so such an append costs BEGIN, one statement and
//! COMMIT, like a plain insert. It still runs in the `BEGIN IMMEDIATE`
//! transaction of `store/append.rs`, under the write lock.

use chrono::Utc;
use factum_core::{AppendResult, EventOutcome, StreamAppend};
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use factum_core::backend::stored_u64;

use crate::decode::position;
use crate::encode::{Encoded, expectation};
use crate::error::Failure;
use crate::sql;

/// Whether `appends` is one stream of at most
/// [`sql::MAX_ONE_STATEMENT_EVENTS`] events, none with an idempotency key
/// or a tag.
pub(crate) fn fits(appends: &[StreamAppend]) -> bool {
    matches!(appends, [one]
        if one.events.len() <= sql::MAX_ONE_STATEMENT_EVENTS
            && one.events.iter().all(|e| e.idempotency_key.is_none() && e.tags.is_empty()))
}

/// Appends `append` (which [`fits`]) with its events' `metadata` JSON;
/// `None` when its expected version did not hold, and nothing was written.
pub(crate) async fn write(
    conn: &mut SqliteConnection,
    append: &StreamAppend,
    metadata: &[String],
) -> Result<Option<AppendResult>, Failure> {
    let sql = sql::append_one(append.events.len()).ok_or_else(|| {
        Failure::Other(format!("no one-statement append of {} events", append.events.len()).into())
    })?;
    let (mode, exact) = expectation(append.expected);
    let recorded_at = Utc::now();
    let mut query = sqlx::query(sql)
        .bind(append.stream_id.as_str())
        .bind(mode)
        .bind(exact);
    for (event, metadata) in append.events.iter().zip(metadata) {
        query = query
            .bind(event.event_id)
            .bind(event.event_type.as_str())
            .bind(i64::from(event.schema_version))
            .bind(event.format.as_str());
        query = Encoded::of(event.format, &event.payload)
            .bind(query)
            .bind(metadata.as_str())
            .bind(recorded_at);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut written = Vec::with_capacity(rows.len());
    for row in &rows {
        let version = stored_u64(row.try_get(1)?, "a stream version")?;
        written.push((version, position(row.try_get(0)?)?));
    }
    if written.len() != append.events.len() {
        return Err(Failure::Other(
            format!(
                "{} events were inserted instead of {}",
                written.len(),
                append.events.len()
            )
            .into(),
        ));
    }
    written.sort_unstable();
    Ok(Some(AppendResult {
        stream_id: append.stream_id.clone(),
        current_version: written.last().map(|(version, _)| *version),
        events: written
            .into_iter()
            .map(|(stream_version, position)| EventOutcome::Written {
                stream_version,
                position,
            })
            .collect(),
    }))
}
