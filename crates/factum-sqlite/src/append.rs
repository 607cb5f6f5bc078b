//! Appending. One `BEGIN IMMEDIATE` transaction per call: it takes SQLite's
//! write lock first, then reads the streams' versions and the stored
//! idempotency keys, checks every expectation, and inserts all new events
//! with multi-row INSERTs. Holding the lock from the first read to the commit
//! is what makes the checks valid and the positions final.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use factum_core::{
    AppendResult, BoxError, Error, EventData, EventOutcome, Result, StreamAppend, StreamId,
    validate_appends,
};
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{Connection, Row};

use crate::connections::Connections;
use crate::error::{backend, is_unique_violation, to_u64};
use crate::rows::{Encoded, position};
use crate::{one_statement, sql};

/// How often an append is tried when a UNIQUE constraint fires. Under the
/// write lock that cannot happen unless something wrote behind factum's back;
/// a fresh attempt then reads the new state and reports the right conflict or
/// duplicate instead of the raw constraint error.
const MAX_ATTEMPTS: usize = 3;

/// Why one attempt failed.
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

/// What an append needs besides its events, computed once for all attempts.
struct Prepared {
    /// The stream ids as a JSON array, in the order given.
    streams: String,
    /// The idempotency keys as a JSON array, when any event has one.
    keys: Option<String>,
    /// Each event's metadata as JSON, per stream.
    metadata: Vec<Vec<String>>,
}

impl Prepared {
    fn new(appends: &[StreamAppend]) -> Result<Self, serde_json::Error> {
        let streams: Vec<&str> = appends.iter().map(|a| a.stream_id.as_str()).collect();
        let keys: Vec<&str> = appends
            .iter()
            .flat_map(|a| &a.events)
            .filter_map(|e| e.idempotency_key.as_deref())
            .collect();
        let metadata = appends
            .iter()
            .map(|a| {
                a.events
                    .iter()
                    .map(|e| e.metadata.to_json())
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            streams: serde_json::to_string(&streams)?,
            keys: if keys.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&keys)?)
            },
            metadata,
        })
    }
}

/// What the operation is called in errors.
fn operation(appends: &[StreamAppend]) -> String {
    match appends {
        [one] => format!("appending to stream {}", one.stream_id),
        many => {
            let names: Vec<&str> = many.iter().map(|a| a.stream_id.as_str()).collect();
            format!("appending to streams {}", names.join(", "))
        }
    }
}

/// Appends atomically; see [`factum_core::EventAppender::append_many`].
pub(crate) async fn append(
    writer: &Connections,
    appends: Vec<StreamAppend>,
) -> Result<Vec<AppendResult>> {
    validate_appends(&appends)?;
    let prepared = Prepared::new(&appends).map_err(|e| backend(operation(&appends), e))?;
    let mut attempt = 1;
    loop {
        match attempt_append(writer, &appends, &prepared).await {
            Ok(results) => return Ok(results),
            Err(Failure::Refused(error)) => return Err(error),
            Err(Failure::Sql(error)) if is_unique_violation(&error) && attempt < MAX_ATTEMPTS => {
                attempt += 1;
            }
            Err(Failure::Sql(error)) => return Err(backend(operation(&appends), error)),
            Err(Failure::Other(error)) => return Err(backend(operation(&appends), error)),
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
}

/// Reads the state under the lock, checks, and inserts. Writes nothing when
/// it returns `Failure::Refused`.
async fn write(
    conn: &mut SqliteConnection,
    appends: &[StreamAppend],
    prepared: &Prepared,
) -> Result<Vec<AppendResult>, Failure> {
    if let ([append], [metadata]) = (appends, prepared.metadata.as_slice())
        && one_statement::fits(appends)
    {
        return Ok(vec![one_statement::write(conn, append, metadata).await?]);
    }
    let states = sqlx::query(sql::STREAM_STATES)
        .bind(prepared.streams.as_str())
        .fetch_all(&mut *conn)
        .await?;
    if states.len() != appends.len() {
        return Err(Failure::Other(
            format!(
                "the stream state query gave {} rows for {} streams",
                states.len(),
                appends.len()
            )
            .into(),
        ));
    }
    let mut head: i64 = 0;
    let mut versions: Vec<i64> = Vec::with_capacity(appends.len());
    for row in &states {
        versions.push(row.try_get::<Option<i64>, _>(1)?.unwrap_or(0));
        head = row.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
    }
    let originals = find_originals(conn, prepared).await?;

    for (append, &version) in appends.iter().zip(&versions) {
        let all_duplicates = append.events.iter().all(|e| {
            e.idempotency_key
                .as_ref()
                .is_some_and(|k| originals.contains_key(k))
        });
        if !all_duplicates {
            let actual = (version > 0)
                .then(|| to_u64(version, "stream version"))
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
    for ((append, &current), metadata) in appends.iter().zip(&versions).zip(&prepared.metadata) {
        let mut version = current;
        let mut outcomes = Vec::with_capacity(append.events.len());
        for (event, metadata) in append.events.iter().zip(metadata) {
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
                stream_version: to_u64(version, "stream version")?,
                position: position(sequence)?,
            });
            rows.push(NewRow {
                sequence,
                stream: &append.stream_id,
                version,
                event,
                metadata,
            });
        }
        results.push(AppendResult {
            stream_id: append.stream_id.clone(),
            current_version: (version > 0)
                .then(|| to_u64(version, "stream version"))
                .transpose()?,
            events: outcomes,
        });
    }
    insert(conn, &rows).await?;
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
            stream_version: to_u64(row.try_get(2)?, "stream version")?,
            sequence: row.try_get(3)?,
        };
        originals.insert(key, original);
    }
    Ok(originals)
}

/// Inserts `rows` in chunks of cached multi-row INSERTs.
async fn insert(conn: &mut SqliteConnection, rows: &[NewRow<'_>]) -> Result<(), Failure> {
    let recorded_at = Utc::now();
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

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments>;

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
}
