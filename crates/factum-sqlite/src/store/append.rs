//! Appending. One `BEGIN IMMEDIATE` transaction per call: it takes SQLite's
//! write lock first, then reads the streams' versions and the stored
//! idempotency keys, checks every expectation, and inserts all new events
//! with multi-row INSERTs. Holding the lock from the first read to the commit
//! is what makes the checks valid and the positions final.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use factum_core::backend::{
    all_stored, check_duplicates, describe_appends, stored_u64, validate_appends,
};
use factum_core::{
    AppendCondition, AppendResult, BoxError, EventAppender, EventData, EventOutcome, Result,
    StreamAppend, StreamId,
};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Row};

use super::SqliteStore;
use super::commit::{Request, commit_batch};
use super::versions::{StreamStates, stream_states};
use super::{append_one, condition, read};
use crate::connections::Connections;
use crate::decode::position;
use crate::encode::{Encoded, Prepared, Query};
use crate::error::{Failure, backend, is_unique_violation};
use crate::sql;

/// How often an append is tried when a UNIQUE constraint fires. Under the
/// write lock that cannot happen unless something wrote behind factum's back;
/// a fresh attempt then reads the new state and reports the right conflict or
/// duplicate instead of the raw constraint error.
const MAX_ATTEMPTS: usize = 3;

#[async_trait]
impl EventAppender for SqliteStore {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        self.append_queued(appends, None).await
    }

    async fn append_if(
        &self,
        appends: Vec<StreamAppend>,
        condition: AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.append_queued(appends, Some(&condition)).await
    }
}

impl SqliteStore {
    /// Checks and encodes an append, then queues it for the committer,
    /// which may commit it together with concurrent ones (`commit.rs`).
    async fn append_queued(
        &self,
        appends: Vec<StreamAppend>,
        condition: Option<&AppendCondition>,
    ) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        let prepared = Prepared::new(&appends, condition)
            .map_err(|e| backend(describe_appends(&appends), e))?;
        let request = Request { appends, prepared };
        let (writer, notifier) = (self.writer.clone(), self.notifier.clone());
        let commit = move |batch| {
            let (writer, notifier) = (writer.clone(), notifier.clone());
            async move { commit_batch(&writer, &notifier, batch).await }
        };
        self.appends.append(request, commit).await
    }
}

/// Appends atomically in a transaction of its own, with up to
/// [`MAX_ATTEMPTS`] tries.
pub(super) async fn append(
    writer: &Connections,
    appends: &[StreamAppend],
    prepared: &Prepared,
) -> Result<Vec<AppendResult>> {
    let mut attempt = 1;
    loop {
        match attempt_append(writer, appends, prepared).await {
            Ok(results) => return Ok(results),
            Err(Failure::Refused(error)) => return Err(error),
            Err(Failure::Sql(error)) if is_unique_violation(&error) && attempt < MAX_ATTEMPTS => {
                attempt += 1;
            }
            Err(Failure::Sql(error)) => return Err(backend(describe_appends(appends), error)),
            Err(Failure::Other(error)) => return Err(backend(describe_appends(appends), error)),
        }
    }
}

/// One try: a whole transaction, committed or rolled back.
async fn attempt_append(
    writer: &Connections,
    appends: &[StreamAppend],
    prepared: &Prepared,
) -> Result<Vec<AppendResult>, Failure> {
    let mut conn = writer.acquire().await?;
    let mut tx = conn.begin_with(sql::BEGIN_IMMEDIATE).await?;
    match write(&mut tx, appends, prepared).await {
        Ok(results) => {
            tx.commit().await?;
            Ok(results)
        }
        Err(failure) => {
            // The failure that made us roll back is what the caller must
            // learn. Should the rollback itself fail, `tx` is still open and
            // dropping it queues another rollback ahead of the next append.
            let _ = tx.rollback().await;
            Err(failure)
        }
    }
}

/// Where the original of a duplicate is.
struct Original {
    stream_id: StreamId,
    stream_version: u64,
    sequence: i64,
}

/// One event to insert.
struct NewRow<'a> {
    sequence: i64,
    stream: &'a StreamId,
    version: i64,
    event: &'a EventData,
    metadata: &'a str,
    tags: Option<&'a str>,
}

/// Reads the state under the lock, checks, and inserts. Writes nothing when
/// it returns `Failure::Refused`.
pub(super) async fn write(
    conn: &mut SqliteConnection,
    appends: &[StreamAppend],
    prepared: &Prepared,
) -> Result<Vec<AppendResult>, Failure> {
    if let ([append], [metadata], None) =
        (appends, prepared.metadata.as_slice(), &prepared.condition)
        && append_one::fits(appends)
    {
        return match append_one::write(conn, append, metadata).await? {
            Some(result) => Ok(vec![result]),
            None => Err(conflict(conn, append).await),
        };
    }
    let StreamStates {
        versions,
        head,
        newest,
    } = stream_states(conn, &prepared.streams, appends.len()).await?;
    let originals = find_originals(conn, prepared).await?;
    check_duplicates(appends, |key| originals.contains_key(key)).map_err(Failure::Refused)?;
    if let Some(condition) = &prepared.condition
        && !all_stored(appends, |key| originals.contains_key(key))
    {
        condition::check(conn, condition).await?;
    }

    for (append, &version) in appends.iter().zip(&versions) {
        if !append.is_all_stored(|key| originals.contains_key(key)) {
            let actual = (version > 0)
                .then(|| stored_u64(version, "a stream version"))
                .transpose()?;
            append
                .expected
                .check(&append.stream_id, actual)
                .map_err(Failure::Refused)?;
        }
    }

    let mut rows = Vec::new();
    let mut results = Vec::with_capacity(appends.len());
    let mut sequence = head;
    let events = appends.iter().zip(&versions);
    for (((append, &current), metadata), tags) in events.zip(&prepared.metadata).zip(&prepared.tags)
    {
        let mut version = current;
        let mut outcomes = Vec::with_capacity(append.events.len());
        for ((event, metadata), tags) in append.events.iter().zip(metadata).zip(tags) {
            let original = event
                .idempotency_key
                .as_ref()
                .and_then(|k| originals.get(k));
            if let Some(original) = original {
                outcomes.push(EventOutcome::Duplicate {
                    stream_id: original.stream_id.clone(),
                    stream_version: original.stream_version,
                    position: position(original.sequence)?,
                });
                continue;
            }
            version += 1;
            sequence += 1;
            outcomes.push(EventOutcome::Written {
                stream_version: stored_u64(version, "a stream version")?,
                position: position(sequence)?,
            });
            rows.push(NewRow {
                sequence,
                stream: &append.stream_id,
                version,
                event,
                metadata,
                tags: tags.as_deref(),
            });
        }
        results.push(AppendResult {
            stream_id: append.stream_id.clone(),
            current_version: (version > 0)
                .then(|| stored_u64(version, "a stream version"))
                .transpose()?,
            events: outcomes,
        });
    }
    insert(conn, &rows, recorded_now(newest)).await?;
    if prepared.any_tags {
        sqlx::query(sql::INSERT_TAGS)
            .bind(head)
            .execute(&mut *conn)
            .await?;
    }
    Ok(results)
}

/// The stored events that carry a key of this append, by key.
async fn find_originals(
    conn: &mut SqliteConnection,
    prepared: &Prepared,
) -> Result<HashMap<String, Original>, Failure> {
    let Some(keys) = &prepared.keys else {
        return Ok(HashMap::new());
    };
    let rows = sqlx::query(sql::FIND_KEYS)
        .bind(keys.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let mut originals = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: String = row.try_get(0)?;
        let original = Original {
            stream_id: StreamId::new(row.try_get::<&str, _>(1)?).map_err(BoxError::from)?,
            stream_version: stored_u64(row.try_get(2)?, "a stream version")?,
            sequence: row.try_get(3)?,
        };
        originals.insert(key, original);
    }
    Ok(originals)
}

/// The time an append's events are recorded at: now (taken under the write
/// lock, so times follow positions), but never before the feed's `newest`
/// event, should the clock have stepped back. So within a stream a later
/// version never carries an earlier time; `append_one.sql` does the same.
fn recorded_now(newest: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now();
    newest.map_or(now, |newest| newest.max(now))
}

/// Inserts `rows`, recorded at `recorded_at`, in chunks of cached
/// multi-row INSERTs.
async fn insert(
    conn: &mut SqliteConnection,
    rows: &[NewRow<'_>],
    recorded_at: DateTime<Utc>,
) -> Result<(), Failure> {
    let mut rest = rows.iter();
    for chunk in sql::insert_chunks(rows.len()) {
        let sql = sql::insert_events(chunk)
            .ok_or_else(|| Failure::Other(format!("no INSERT of {chunk} rows").into()))?;
        let mut query = sqlx::query(sql);
        for row in rest.by_ref().take(chunk) {
            query = bind_row(query, row, recorded_at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Binds one event's values in the column order of `insert_event.sql`.
fn bind_row<'q>(query: Query<'q>, row: &NewRow<'_>, recorded_at: DateTime<Utc>) -> Query<'q> {
    let event = row.event;
    let query = query
        .bind(row.sequence)
        .bind(row.stream.as_str())
        .bind(row.version)
        .bind(event.event_id)
        .bind(event.event_type.as_str())
        .bind(i64::from(event.schema_version))
        .bind(event.format.as_str());
    Encoded::of(event.format, &event.payload)
        .bind(query)
        .bind(row.metadata)
        .bind(event.idempotency_key.as_deref())
        .bind(recorded_at)
        .bind(row.tags)
}

/// Why nothing was inserted: the expectation failed. Reads the actual
/// version (still under the lock) for the error.
async fn conflict(conn: &mut SqliteConnection, append: &StreamAppend) -> Failure {
    let actual = match read::version_on(conn, &append.stream_id).await {
        Ok(actual) => actual,
        Err(error) => return Failure::Other(error),
    };
    match append.expected.check(&append.stream_id, actual) {
        Err(conflict) => Failure::Refused(conflict),
        Ok(()) => Failure::Other(
            format!(
                "nothing was inserted into stream {}, although it is at {actual:?} as expected",
                append.stream_id
            )
            .into(),
        ),
    }
}
