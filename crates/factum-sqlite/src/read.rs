//! Reading: stream pages, the global feed, versions and the head.
//!
//! A stream is read page by page, each page one short query on one of the
//! reader connections. No read transaction stays open between pages, so a
//! reader of a 1,000,000-event stream holds at most one page in memory and
//! never stops SQLite from checkpointing the WAL. Events are immutable and
//! versions contiguous, so pages read from successive snapshots still fit
//! together: a forward read without an upper bound may also yield events
//! appended while it runs, as the memory backend's does.

use factum_core::{
    BoxError, Direction, GlobalPosition, ReadOptions, RecordedEvent, RecordedPayload, Result,
    StreamId,
};
use futures::stream::{self, BoxStream, StreamExt};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::connections::Connections;

use crate::error::{backend, limit_to_i64, to_i64_saturating, to_u64};
use crate::rows::{position, recorded_event, recorded_payload};
use crate::sql;

/// Events a lazy stream read fetches per query.
pub(crate) const PAGE_SIZE: usize = 512;

/// Where a lazy read stands: the next version to read (`None`: done) and how
/// many events the limit still allows.
struct Cursor {
    next: Option<u64>,
    remaining: usize,
}

/// What a stream read yields per row: whole events or payloads.
pub(crate) trait StreamItem: Sized + Send + 'static {
    /// The statements reading one page forward and backward.
    const SQL: [&'static str; 2];
    /// Decodes a row of `stream`.
    fn decode(row: &SqliteRow, stream: &StreamId) -> Result<Self, BoxError>;
    /// The item's version in its stream.
    fn stream_version(&self) -> u64;
}

impl StreamItem for RecordedEvent {
    const SQL: [&'static str; 2] = [sql::READ_STREAM_FORWARD, sql::READ_STREAM_BACKWARD];
    fn decode(row: &SqliteRow, stream: &StreamId) -> Result<Self, BoxError> {
        recorded_event(row, Some(stream))
    }
    fn stream_version(&self) -> u64 {
        self.stream_version
    }
}

impl StreamItem for RecordedPayload {
    const SQL: [&'static str; 2] = [sql::READ_PAYLOADS_FORWARD, sql::READ_PAYLOADS_BACKWARD];
    fn decode(row: &SqliteRow, _: &StreamId) -> Result<Self, BoxError> {
        recorded_payload(row)
    }
    fn stream_version(&self) -> u64 {
        self.stream_version
    }
}

/// Reads a stream lazily, whole events or payloads; see
/// [`factum_core::EventReader::read_stream_events`].
pub(crate) fn stream_events<'a, T: StreamItem>(
    reader: &'a Connections,
    stream: &'a StreamId,
    options: ReadOptions,
) -> BoxStream<'a, Result<T>> {
    let (low, high) = options.version_range();
    let start = Cursor {
        next: (low <= high).then_some(match options.direction {
            Direction::Forward => low,
            Direction::Backward => high,
        }),
        remaining: options.limit.unwrap_or(usize::MAX),
    };
    stream::unfold(start, move |cursor| async move {
        let next = cursor.next?;
        if cursor.remaining == 0 {
            return None;
        }
        let max = cursor.remaining.min(PAGE_SIZE);
        let (from, to) = match options.direction {
            Direction::Forward => (next, high),
            Direction::Backward => (low, next),
        };
        let page = match stream_page::<T>(reader, stream, options.direction, from, to, max).await {
            Ok(page) => page,
            Err(error) => {
                let done = Cursor {
                    next: None,
                    remaining: 0,
                };
                return Some((vec![Err(error)], done));
            }
        };
        let last = page.last()?.stream_version();
        let full = page.len() == max;
        let next = match options.direction {
            Direction::Forward => (full && last < high).then(|| last + 1),
            Direction::Backward => (full && last > low).then(|| last - 1),
        };
        let after = Cursor {
            next,
            remaining: cursor.remaining - page.len(),
        };
        Some((page.into_iter().map(Ok).collect::<Vec<_>>(), after))
    })
    .flat_map(stream::iter)
    .boxed()
}

/// Up to `max` events of `stream` with versions in `from..=to`, in
/// `direction`.
async fn stream_page<T: StreamItem>(
    reader: &Connections,
    stream: &StreamId,
    direction: Direction,
    from: u64,
    to: u64,
    max: usize,
) -> Result<Vec<T>> {
    let fail = |e: BoxError| backend(format!("reading stream {stream}"), e);
    let [forward, backward] = T::SQL;
    let sql = match direction {
        Direction::Forward => forward,
        Direction::Backward => backward,
    };
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let rows = sqlx::query(sql)
        .bind(stream.as_str())
        .bind(to_i64_saturating(from))
        .bind(to_i64_saturating(to))
        .bind(limit_to_i64(max))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    rows.iter()
        .map(|row| T::decode(row, stream).map_err(fail))
        .collect()
}

/// Reads the feed; see [`factum_core::EventReader::read_all`].
pub(crate) async fn read_all(
    reader: &Connections,
    after: GlobalPosition,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    let (commit, sequence) = after.to_parts();
    if commit != 0 || limit == 0 {
        // Positions with a commit part come from no SQLite store; they lie
        // after every event here.
        return Ok(Vec::new());
    }
    let fail = |e: BoxError| backend(format!("reading the global feed after {after}"), e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let rows = sqlx::query(sql::READ_ALL)
        .bind(to_i64_saturating(sequence))
        .bind(limit_to_i64(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    rows.iter()
        .map(|row| recorded_event(row, None).map_err(fail))
        .collect()
}

/// The stream's current version.
pub(crate) async fn stream_version(reader: &Connections, stream: &StreamId) -> Result<Option<u64>> {
    let fail = |e: BoxError| backend(format!("reading the version of stream {stream}"), e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let row = sqlx::query(sql::STREAM_VERSION)
        .bind(stream.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    let version: Option<i64> = row.try_get(0).map_err(|e| fail(e.into()))?;
    version
        .map(|v| to_u64(v, "stream version"))
        .transpose()
        .map_err(fail)
}

/// The newest event's position.
pub(crate) async fn head_position(reader: &Connections) -> Result<Option<GlobalPosition>> {
    let fail = |e: BoxError| backend("reading the head position", e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let row = sqlx::query(sql::HEAD_POSITION)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    let head: Option<i64> = row.try_get(0).map_err(|e| fail(e.into()))?;
    head.map(position).transpose().map_err(fail)
}
