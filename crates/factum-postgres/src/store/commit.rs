//! The committer: concurrent one-stream appends to one store share a
//! statement, hence a transaction and a commit (core's `AppendQueue`). A
//! batch of one is appended as ever (`append.rs`); a larger one is split
//! into runs of distinct streams, each written by one `append_batch.sql`,
//! where an append whose expected version fails writes nothing and fails
//! alone, with the error it would get alone.

use std::collections::HashMap;

use factum_core::backend::{QueuedAppend, describe_appends};
use factum_core::{AppendResult, EventOutcome, Result, StreamAppend, StreamId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PostgresStore;
use super::append_one::written;
use crate::encode::Encoded;
use crate::error::{Failure, backend, classify, shared_failure, unsigned};
use crate::sql::statement;
use crate::xid8::Xid8;

/// Appends a batch holds at most.
pub(crate) const MAX_BATCH: usize = 64;

/// Events an append may carry to be committed with others: larger ones
/// gain nothing from sharing a commit, and would hold the others up.
const MAX_EVENTS: usize = 100;

/// One queued append: a single stream, no idempotency key, no tag.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) appends: Vec<StreamAppend>,
}

/// Whether `appends` (validated) may be committed with others: one stream,
/// at most [`MAX_EVENTS`] events, none with an idempotency key or a tag.
pub(crate) fn shareable(appends: &[StreamAppend]) -> bool {
    matches!(appends, [one]
        if one.events.len() <= MAX_EVENTS
            && one.events.iter().all(|e| e.idempotency_key.is_none() && e.tags.is_empty()))
}

/// Commits one batch, in runs of distinct streams, and answers each
/// caller; announces what was committed.
pub(crate) async fn commit_batch(store: PostgresStore, batch: Vec<QueuedAppend<Request>>) {
    fn stream(q: &QueuedAppend<Request>) -> Option<&StreamId> {
        q.request.appends.first().map(|a| &a.stream_id)
    }
    let mut run = Vec::with_capacity(batch.len());
    for queued in batch {
        // A stream's second append waits for the next statement: both
        // would read the same head.
        if run.iter().any(|q| stream(q) == stream(&queued)) {
            store.commit_run(std::mem::take(&mut run)).await;
        }
        run.push(queued);
    }
    store.commit_run(run).await;
    store.announcer().committed(store.pool());
}

impl PostgresStore {
    /// Commits `run` (appends to distinct streams) and answers each caller.
    async fn commit_run(&self, mut run: Vec<QueuedAppend<Request>>) {
        if run.is_empty() {
            return;
        }
        if run.len() == 1
            && let Some(one) = run.pop()
        {
            let outcome = self.append_pooled(&one.request.appends, None).await;
            return one.finish(outcome);
        }
        let appends: Vec<StreamAppend> = run
            .iter_mut()
            .flat_map(|q| std::mem::take(&mut q.request.appends))
            .collect();
        match self.append_together(&appends).await {
            Ok(outcomes) => {
                for (queued, outcome) in run.into_iter().zip(outcomes) {
                    queued.finish(outcome);
                }
            }
            // The statement failed as a whole, and wrote nothing: each
            // append is tried alone, and gets the outcome it gets alone.
            Err(Failure::Retry) => {
                for (queued, append) in run.into_iter().zip(&appends) {
                    let append = std::slice::from_ref(append);
                    queued.finish(self.append_pooled(append, None).await);
                }
            }
            Err(Failure::Fatal(error)) => {
                for (queued, append) in run.into_iter().zip(&appends) {
                    let describe = describe_appends(std::slice::from_ref(append));
                    queued.finish(Err(shared_failure(describe, &error)));
                }
            }
        }
    }

    /// Writes `appends` (distinct streams) in one statement: each one's
    /// outcome, or why the statement failed.
    async fn append_together(
        &self,
        appends: &[StreamAppend],
    ) -> Result<Vec<Result<Vec<AppendResult>>>, Failure> {
        let locks = self.lock_keys(appends, None);
        // An event that does not encode fails its append alone: retry each.
        let encoded = Encoded::new(appends, &locks, None).map_err(|_| Failure::Retry)?;
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(|e| Failure::Fatal(backend(describe_appends(appends), e)))?;
        let query = sqlx::query(statement(&self.sql().append_batch))
            .bind(&encoded.streams)
            .bind(&encoded.expected)
            .bind(
                encoded
                    .stream_of
                    .iter()
                    .map(|&n| i64::from(n))
                    .collect::<Vec<i64>>(),
            );
        let rows = encoded
            .bind_events(query)
            .bind(&encoded.lock_keys)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| classify(e, appends))?;
        let mut by_stream = written_by_stream(&rows)
            .map_err(|e| Failure::Fatal(backend(describe_appends(appends), e)))?;
        let mut outcomes = Vec::with_capacity(appends.len());
        for append in appends {
            outcomes.push(match by_stream.remove(append.stream_id.as_str()) {
                Some(events) => written(append, events).map(|result| vec![result]),
                None => self.refused(&mut conn, append).await,
            });
        }
        Ok(outcomes)
    }

    /// The outcome of an append that wrote nothing in a shared statement:
    /// its version conflict, or, should its expectation hold by now (the
    /// stream changed in between), the outcome of trying it again alone.
    async fn refused(
        &self,
        conn: &mut PgConnection,
        append: &StreamAppend,
    ) -> Result<Vec<AppendResult>> {
        match self.conflict(conn, append).await {
            Failure::Fatal(error) => Err(error),
            Failure::Retry => self.append_pooled(std::slice::from_ref(append), None).await,
        }
    }
}

/// The events `append_batch.sql` wrote, per stream, in order.
fn written_by_stream(rows: &[PgRow]) -> Result<HashMap<String, Vec<EventOutcome>>> {
    let mut written: HashMap<String, Vec<EventOutcome>> = HashMap::new();
    let decode = |e: sqlx::Error| backend("decoding the result of a shared append", e);
    for row in rows {
        let stream: String = row.try_get(0).map_err(decode)?;
        let version: i64 = row.try_get(1).map_err(decode)?;
        let commit_id: Xid8 = row.try_get(2).map_err(decode)?;
        let seq: i64 = row.try_get(3).map_err(decode)?;
        written
            .entry(stream)
            .or_default()
            .push(EventOutcome::Written {
                stream_version: unsigned(version, "a stream version")?,
                position: commit_id.position(seq)?,
            });
    }
    Ok(written)
}
