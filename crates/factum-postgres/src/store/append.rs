//! [`EventAppender`] for [`PostgresStore`]: validation, the retry loop, and
//! the general path, one call of the schema's `append_events` function per
//! attempt; one stream without idempotency keys takes the fast path of
//! `append_one.rs`. An attempt is retried when a concurrent append stored
//! one of its idempotency keys, or the next version of one of its streams,
//! first.

use async_trait::async_trait;
use factum_core::backend::{describe_appends, validate_appends};
use factum_core::{
    AppendCondition, AppendResult, EventAppender, EventOutcome, Result, StreamAppend, StreamId,
};
use sqlx::postgres::PgRow;
use sqlx::{Acquire, PgConnection, Row};

use super::PostgresStore;
use super::commit::{Request, commit_batch, shareable};
use crate::encode::Encoded;
use crate::error::{Failure, backend, classify, condition_failed, gave_up, unsigned};
use crate::locks::LockKeys;
use crate::sql::statement;
use crate::xid8::Xid8;

/// Retries allowed for appends that lose races on a stream's next version
/// to concurrent appends (each lost race means another append went through).
const CONTENTION_RETRIES: usize = 1_000;
/// The same inside the caller's transaction, where a retry helps only under
/// READ COMMITTED (a new snapshot per statement): kept small so that a lost
/// race under REPEATABLE READ fails fast.
const CONTENTION_RETRIES_IN_TRANSACTION: usize = 16;

/// One row of `append_events`' result.
struct OutcomeRow {
    duplicate: bool,
    original_stream: Option<String>,
    stream_version: i64,
    commit_id: i64,
    seq: i64,
    current_version: Option<i64>,
}

fn outcome_row(row: &PgRow) -> Result<OutcomeRow, sqlx::Error> {
    Ok(OutcomeRow {
        duplicate: row.try_get(1)?,
        original_stream: row.try_get(2)?,
        stream_version: row.try_get(3)?,
        commit_id: row.try_get(4)?,
        seq: row.try_get(5)?,
        current_version: row.try_get(6)?,
    })
}

/// Turns the function's rows (one per event, in order) into one result per
/// stream.
fn results(appends: &[StreamAppend], rows: &[PgRow]) -> Result<Vec<AppendResult>> {
    let decode = |e: sqlx::Error| {
        backend(
            format!("decoding the result of {}", describe_appends(appends)),
            e,
        )
    };
    let mut rows = rows.iter();
    let mut results = Vec::with_capacity(appends.len());
    for append in appends {
        let mut events = Vec::with_capacity(append.events.len());
        let mut current_version = None;
        for _ in &append.events {
            let row = rows
                .next()
                .ok_or_else(|| decode(sqlx::Error::RowNotFound))?;
            let row = outcome_row(row).map_err(decode)?;
            current_version = row.current_version;
            let stream_version = unsigned(row.stream_version, "a stream version")?;
            // `append_events` returns the transaction id as a bigint.
            let position = Xid8(unsigned(row.commit_id, "a transaction id")?).position(row.seq)?;
            events.push(if row.duplicate {
                let name = row.original_stream.unwrap_or_default();
                let stream_id = StreamId::new(name).map_err(|e| {
                    backend(
                        format!("decoding the result of {}", describe_appends(appends)),
                        e,
                    )
                })?;
                EventOutcome::Duplicate {
                    stream_id,
                    stream_version,
                    position,
                }
            } else {
                EventOutcome::Written {
                    stream_version,
                    position,
                }
            });
        }
        results.push(AppendResult {
            stream_id: append.stream_id.clone(),
            current_version: current_version
                .map(|v| unsigned(v, "a stream version"))
                .transpose()?,
            events,
        });
    }
    Ok(results)
}

#[async_trait]
impl EventAppender for PostgresStore {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        if shareable(&appends) {
            // The committer announces what it committed.
            let store = self.clone();
            let commit = move |batch| commit_batch(store.clone(), batch);
            return self.appends.append(Request { appends }, commit).await;
        }
        let results = self.append_pooled(&appends, None).await?;
        self.announcer().committed(self.pool());
        Ok(results)
    }

    async fn append_if(
        &self,
        appends: Vec<StreamAppend>,
        condition: AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        let results = self.append_pooled(&appends, Some(&condition)).await?;
        self.announcer().committed(self.pool());
        Ok(results)
    }
}

impl PostgresStore {
    /// Appends like [`EventAppender::append_many`], but on `conn`, inside the
    /// transaction open on it, so that events and the caller's own writes
    /// (a read model, a checkpoint) commit or roll back together. Pass a
    /// sqlx transaction as `&mut *tx`. The append runs in a savepoint: when it
    /// fails (a version conflict, say) the caller's transaction stays usable.
    /// On a connection with no open transaction it runs in one of its own.
    ///
    /// While the transaction stays open the global feed cannot pass its
    /// events, nor any event written after them (see the crate docs): keep
    /// such transactions short. Under READ COMMITTED (PostgreSQL's default) an
    /// append that loses a race to a concurrent one is retried like any
    /// other; under REPEATABLE READ or SERIALIZABLE the retry cannot see the
    /// winner, and the append fails with a backend error: retry the whole
    /// transaction.
    pub async fn append_in(
        &self,
        conn: &mut PgConnection,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        self.append_on(conn, &appends).await
    }

    /// The lock keys of `appends` under `condition` (see `locks.rs`).
    pub(super) fn lock_keys(
        &self,
        appends: &[StreamAppend],
        condition: Option<&AppendCondition>,
    ) -> LockKeys {
        let events = appends.iter().flat_map(|a| &a.events);
        LockKeys::new(self.schema().as_str(), events, condition.map(|c| &c.query))
    }

    /// Calls `append_events` once on `conn`.
    async fn call_append(
        &self,
        conn: &mut PgConnection,
        encoded: &Encoded<'_>,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        let query = sqlx::query(statement(&self.sql().append))
            .bind(&encoded.streams)
            .bind(&encoded.expected)
            .bind(&encoded.stream_of);
        encoded
            .bind_events(query)
            .bind(&encoded.keys)
            .bind(encoded.skip_each)
            .bind(&encoded.tags)
            .bind(&encoded.lock_keys)
            .bind(&encoded.lock_exclusive)
            .bind(encoded.lock_table)
            .bind(encoded.condition.as_deref())
            .bind(encoded.after.0)
            .bind(encoded.after.1)
            .fetch_all(conn)
            .await
    }

    /// One try of an append on `conn`: the fast path (one stream, no
    /// idempotency key, no tag, no condition) or the `append_events`
    /// function.
    async fn attempt(
        &self,
        conn: &mut PgConnection,
        appends: &[StreamAppend],
        encoded: &Encoded<'_>,
        condition: Option<&AppendCondition>,
    ) -> Result<Vec<AppendResult>, Failure> {
        let plain = !encoded.any_tags && condition.is_none();
        if let ([one], 0, true) = (appends, encoded.key_count, plain) {
            return match self.attempt_one(conn, one, encoded).await {
                Ok(Some(result)) => Ok(vec![result]),
                Ok(None) => Err(self.conflict(conn, one).await),
                Err(failure) => Err(failure),
            };
        }
        match self.call_append(conn, encoded).await {
            Ok(rows) => results(appends, &rows).map_err(Failure::Fatal),
            Err(e) => match condition.and_then(|c| condition_failed(&e, c)) {
                Some(failed) => Err(Failure::Fatal(failed)),
                None => Err(classify(e, appends)),
            },
        }
    }

    /// Appends with a connection from the pool: the call is one statement,
    /// hence its own transaction, and one round trip.
    pub(super) async fn append_pooled(
        &self,
        appends: &[StreamAppend],
        condition: Option<&AppendCondition>,
    ) -> Result<Vec<AppendResult>> {
        let locks = self.lock_keys(appends, condition);
        let encoded = Encoded::new(appends, &locks, condition)?;
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(|e| backend(describe_appends(appends), e))?;
        let mut attempts = encoded.key_count + CONTENTION_RETRIES;
        loop {
            attempts -= 1;
            match self.attempt(&mut conn, appends, &encoded, condition).await {
                Ok(results) => return Ok(results),
                Err(Failure::Retry) if attempts > 0 => continue,
                Err(Failure::Retry) => return Err(gave_up(appends)),
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
    }

    /// Appends within a savepoint of `conn`'s open transaction (or in a new
    /// transaction when none is open), so that a conflict leaves the caller's
    /// transaction usable.
    async fn append_on(
        &self,
        conn: &mut PgConnection,
        appends: &[StreamAppend],
    ) -> Result<Vec<AppendResult>> {
        let locks = self.lock_keys(appends, None);
        let encoded = Encoded::new(appends, &locks, None)?;
        let fail = |e: sqlx::Error| backend(describe_appends(appends), e);
        let mut attempts = encoded.key_count + CONTENTION_RETRIES_IN_TRANSACTION;
        loop {
            attempts -= 1;
            let mut savepoint = conn.begin().await.map_err(fail)?;
            let attempt = match self.attempt(&mut savepoint, appends, &encoded, None).await {
                Ok(results) => self
                    .announcer()
                    .in_transaction(&mut savepoint, self.pool())
                    .await
                    .map(|()| results)
                    .map_err(|e| Failure::Fatal(fail(e))),
                failed => failed,
            };
            match attempt {
                Ok(results) => {
                    savepoint.commit().await.map_err(fail)?;
                    return Ok(results);
                }
                Err(failure) => {
                    savepoint.rollback().await.map_err(fail)?;
                    match failure {
                        Failure::Retry if attempts > 0 => continue,
                        Failure::Retry => return Err(gave_up(appends)),
                        Failure::Fatal(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// The expected version did not hold when the statement ran: read the
    /// actual one. Should it hold by now, the stream changed in between, and
    /// the append is simply tried again.
    pub(super) async fn conflict(&self, conn: &mut PgConnection, append: &StreamAppend) -> Failure {
        let actual = match self.version_on(conn, &append.stream_id).await {
            Ok(actual) => actual,
            Err(e) => return Failure::Fatal(e),
        };
        match append.expected.check(&append.stream_id, actual) {
            Ok(()) => Failure::Retry,
            Err(conflict) => Failure::Fatal(conflict),
        }
    }
}
