//! The global feed and its head. Writers are serialized, so positions are
//! a counter assigned under the write lock and grow in commit order: a
//! reader's snapshot always holds a prefix of the feed, which is therefore
//! final.

use factum_core::backend::saturating_i64;
use factum_core::{BoxError, EventFilter, FeedPage, GlobalPosition, RecordedEvent, Result};
use sqlx::{Connection, Row};

use crate::connections::Connections;
use crate::decode::{position, recorded_event};
use crate::error::backend;
use crate::sql;

/// Up to `limit` events of the feed after `after`; see
/// [`factum_core::EventReader::read_all`].
pub(super) async fn read_all(
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
        .bind(saturating_i64(sequence))
        .bind(saturating_i64(limit as u64))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    rows.iter().map(|row| recorded_event(row, None)).collect()
}

/// Positions one filtered read looks at, at most, per event asked for,
/// within [`MIN_WINDOW`]..=[`MAX_WINDOW`]: a bound on the rows a sparse
/// filter scans.
const WINDOW_PER_EVENT: u64 = 20;
const MIN_WINDOW: u64 = 1_000;
const MAX_WINDOW: u64 = 50_000;

/// Up to `limit` events after `after` that `filter` lets through, looking
/// at a window of positions; see [`factum_core::EventReader::read_feed`].
/// The window and the head are read in one read transaction, so that
/// `scanned_to` never passes an event the read did not see.
pub(super) async fn read_feed(
    reader: &Connections,
    after: GlobalPosition,
    limit: usize,
    filter: &EventFilter,
) -> Result<FeedPage> {
    let (commit, sequence) = after.to_parts();
    if commit != 0 || limit == 0 {
        return Ok(FeedPage {
            at_end: commit != 0,
            ..FeedPage::default()
        });
    }
    let fail = |e: BoxError| {
        backend(
            format!("reading the global feed after {after} through a filter"),
            e,
        )
    };
    let window = (limit as u64)
        .saturating_mul(WINDOW_PER_EVENT)
        .clamp(MIN_WINDOW, MAX_WINDOW);
    // A filter with tags reads the tags' index, which holds only the
    // events carrying them: it needs no window.
    let tags = filter
        .tag_names()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| fail(e.into()))?;
    let until = match tags {
        Some(_) => u64::MAX,
        None => sequence.saturating_add(window),
    };
    let list = |names: Option<&[String]>| {
        names
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| fail(e.into()))
    };
    let (types, categories) = (
        list(filter.event_type_names())?,
        list(filter.category_names())?,
    );
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let mut tx = conn.begin().await.map_err(|e| fail(e.into()))?;
    // With tags, the tags' index holds exactly the events carrying them.
    // With types, the window's events of those types are counted up to the
    // page in their index: fewer, and they are read through it; else the
    // primary key finds the page soon.
    let statement = match (&tags, types.as_deref()) {
        (Some(_), _) => sql::READ_FEED_TAGGED,
        (None, Some(names)) => {
            let typed: i64 = sqlx::query_scalar(sql::COUNT_TYPED)
                .bind(saturating_i64(sequence))
                .bind(saturating_i64(until))
                .bind(names)
                .bind(saturating_i64(limit as u64))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| fail(e.into()))?;
            if typed < saturating_i64(limit as u64) {
                sql::READ_FEED_TYPED
            } else {
                sql::READ_FEED
            }
        }
        (None, None) => sql::READ_FEED,
    };
    let query = sqlx::query(statement)
        .bind(saturating_i64(sequence))
        .bind(saturating_i64(until))
        .bind(saturating_i64(limit as u64))
        .bind(types)
        .bind(categories);
    let query = match tags {
        Some(tags) => query.bind(tags),
        None => query,
    };
    let rows = query
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| fail(e.into()))?;
    let events = rows
        .iter()
        .map(|row| recorded_event(row, None))
        .collect::<Result<Vec<_>>>()?;
    if let (true, Some(last)) = (events.len() == limit, events.last()) {
        let scanned_to = Some(last.position);
        return Ok(FeedPage {
            events,
            scanned_to,
            at_end: false,
        });
    }
    let head: Option<i64> = sqlx::query_scalar(sql::HEAD_POSITION)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| fail(e.into()))?;
    tx.commit().await.map_err(|e| fail(e.into()))?;
    let head = head.map(position).transpose().map_err(fail)?;
    let window_end = GlobalPosition::from_parts(0, until);
    let at_end = head.is_none_or(|head| head <= window_end);
    let scanned_to = match head {
        Some(head) if head > after => Some(head.min(window_end)),
        _ => None,
    };
    Ok(FeedPage {
        events,
        scanned_to,
        at_end,
    })
}

/// The newest event's position.
pub(super) async fn head_position(reader: &Connections) -> Result<Option<GlobalPosition>> {
    let fail = |e: BoxError| backend("reading the head position", e);
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let row = sqlx::query(sql::HEAD_POSITION)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    let head: Option<i64> = row.try_get(0).map_err(|e| fail(e.into()))?;
    head.map(position).transpose().map_err(fail)
}
