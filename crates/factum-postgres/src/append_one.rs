//! The fast path of an append: one stream and no idempotency key, in one
//! plain statement (`sql/append_one.sql`) rather than a function call.

use factum_core::{AppendResult, Error, EventOutcome, ExpectedVersion, StreamAppend};
use sqlx::{PgConnection, Row};

use crate::append::{Encoded, Failure, classify, describe, position};
use crate::error::{backend, clamp_i64, unsigned};
use crate::sql::statement;
use crate::store::PostgresStore;

impl PostgresStore {
    pub(crate) async fn attempt_one(
        &self,
        conn: &mut PgConnection,
        append: &StreamAppend,
        encoded: &Encoded<'_>,
    ) -> Result<Vec<AppendResult>, Failure> {
        let appends = std::slice::from_ref(append);
        let (sql, expected) = match append.expected {
            ExpectedVersion::Any => (&self.sql().append_one_any, -1),
            ExpectedVersion::NoStream => (&self.sql().append_one_create, -2),
            ExpectedVersion::StreamExists => (&self.sql().append_one_update, -3),
            ExpectedVersion::Exact(version) => (&self.sql().append_one_update, clamp_i64(version)),
        };
        let rows = sqlx::query(statement(sql))
            .bind(append.stream_id.as_str())
            .bind(expected)
            .bind(&encoded.event_ids)
            .bind(&encoded.event_types)
            .bind(&encoded.schema_versions)
            .bind(&encoded.payload_json)
            .bind(&encoded.payload_bytes)
            .bind(&encoded.metadata)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| classify(e, appends))?;
        if rows.is_empty() {
            return Err(self.conflict(conn, append).await);
        }
        let decode = |e: sqlx::Error| {
            Failure::Fatal(backend(
                format!("decoding the result of {}", describe(appends)),
                e,
            ))
        };
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let version: i64 = row.try_get(0).map_err(decode)?;
            let commit_id: i64 = row.try_get(1).map_err(decode)?;
            let seq: i64 = row.try_get(2).map_err(decode)?;
            events.push(EventOutcome::Written {
                stream_version: unsigned(version, "a stream version").map_err(Failure::Fatal)?,
                position: position(commit_id, seq).map_err(Failure::Fatal)?,
            });
        }
        if events.len() != append.events.len() {
            return Err(Failure::Fatal(backend(
                describe(appends),
                format!(
                    "{} events were sent but {} stored",
                    append.events.len(),
                    events.len()
                ),
            )));
        }
        let current_version = match events.last() {
            Some(EventOutcome::Written { stream_version, .. }) => Some(*stream_version),
            _ => None,
        };
        Ok(vec![AppendResult {
            stream_id: append.stream_id.clone(),
            current_version,
            events,
        }])
    }

    /// The expected version did not hold when the statement ran: read the
    /// actual one. Should it hold by now, the stream changed in between, and
    /// the append is simply tried again.
    async fn conflict(&self, conn: &mut PgConnection, append: &StreamAppend) -> Failure {
        let operation = || format!("reading the version of stream {}", append.stream_id);
        let row = sqlx::query(statement(&self.sql().stream_version))
            .bind(append.stream_id.as_str())
            .fetch_optional(conn)
            .await;
        let actual = match row {
            Ok(Some(row)) => match row.try_get::<i64, _>(0) {
                Ok(version) => match unsigned(version, "a stream version") {
                    Ok(version) => Some(version),
                    Err(e) => return Failure::Fatal(e),
                },
                Err(e) => return Failure::Fatal(backend(operation(), e)),
            },
            Ok(None) => None,
            Err(e) => return Failure::Fatal(backend(operation(), e)),
        };
        if append.expected.matches(actual) {
            Failure::Retry
        } else {
            Failure::Fatal(Error::VersionConflict {
                stream: append.stream_id.clone(),
                expected: append.expected,
                actual,
            })
        }
    }
}
