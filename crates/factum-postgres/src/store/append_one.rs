//! The fast path of an append: one stream and no idempotency key, in one
//! plain statement (`sql/append_one.sql`, or `sql/append_single.sql` for a
//! single event) rather than a function call.

use factum_core::backend::describe_appends;
use factum_core::{AppendResult, EventOutcome, Result, StreamAppend};
use sqlx::{PgConnection, Row};

use super::PostgresStore;
use crate::encode::{Encoded, expected_code};
use crate::error::{Failure, backend, classify, unsigned};
use crate::sql::statement;
use crate::xid8::Xid8;

impl PostgresStore {
    /// Appends `append` (one stream, no idempotency key, no tag) in one
    /// statement, sharing the advisory locks of its events' types;
    /// `None` when its expected version did not hold, and nothing was
    /// written.
    pub(super) async fn attempt_one(
        &self,
        conn: &mut PgConnection,
        append: &StreamAppend,
        encoded: &Encoded<'_>,
    ) -> Result<Option<AppendResult>, Failure> {
        let appends = std::slice::from_ref(append);
        let query = if let (1, Some(id), Some(event_type), Some(schema_version)) = (
            encoded.event_ids.len(),
            encoded.event_ids.first(),
            encoded.event_types.first(),
            encoded.schema_versions.first(),
        ) {
            // One event: plain parameters rather than arrays.
            sqlx::query(statement(&self.sql().append_single))
                .bind(append.stream_id.as_str())
                .bind(expected_code(append.expected))
                .bind(id)
                .bind(event_type)
                .bind(schema_version)
                .bind(encoded.payload_json.first().copied().flatten())
                .bind(encoded.payload_bytes.first().copied().flatten())
                .bind(encoded.metadata.first())
        } else {
            encoded.bind_events(
                sqlx::query(statement(&self.sql().append_one))
                    .bind(append.stream_id.as_str())
                    .bind(expected_code(append.expected)),
            )
        };
        let rows = query
            .bind(&encoded.lock_keys)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| classify(e, appends))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let decode = |e: sqlx::Error| {
            Failure::Fatal(backend(
                format!("decoding the result of {}", describe_appends(appends)),
                e,
            ))
        };
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let version: i64 = row.try_get(0).map_err(decode)?;
            let commit_id: Xid8 = row.try_get(1).map_err(decode)?;
            let seq: i64 = row.try_get(2).map_err(decode)?;
            events.push(EventOutcome::Written {
                stream_version: unsigned(version, "a stream version").map_err(Failure::Fatal)?,
                position: commit_id.position(seq).map_err(Failure::Fatal)?,
            });
        }
        written(append, events).map(Some).map_err(Failure::Fatal)
    }
}

/// The result of a one-stream append whose events were all written, as
/// `events` says: an error when fewer or more were stored than sent.
pub(super) fn written(append: &StreamAppend, events: Vec<EventOutcome>) -> Result<AppendResult> {
    if events.len() != append.events.len() {
        return Err(backend(
            describe_appends(std::slice::from_ref(append)),
            format!(
                "{} events were sent but {} stored",
                append.events.len(),
                events.len()
            ),
        ));
    }
    let current_version = match events.last() {
        Some(EventOutcome::Written { stream_version, .. }) => Some(*stream_version),
        _ => None,
    };
    Ok(AppendResult {
        stream_id: append.stream_id.clone(),
        current_version,
        events,
    })
}
