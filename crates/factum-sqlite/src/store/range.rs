//! Ranged reads of the global feed (`sql/read_all_between.sql`): the feed's
//! events after a position, kept to those recorded in a [`TimeRange`].
//! Times are stored as RFC 3339 text, which sorts as the times do for the
//! years 0000 to 9999; a bound outside them opens its side of the range or
//! leaves it empty, as no stored time lies there.

use std::ops::{Bound, RangeBounds};

use chrono::{DateTime, Datelike, Utc};
use factum_core::backend::saturating_i64;
use factum_core::{BoxError, GlobalPosition, RecordedEvent, Result, TimeRange};

use crate::connections::Connections;
use crate::decode::recorded_event;
use crate::error::backend;
use crate::sql;

/// Which end of a range a bound is.
#[derive(Clone, Copy)]
enum End {
    Start,
    Finish,
}

/// A bound as bound to SQL: the time (`None`: open) and whether it is
/// included; `None` when no stored time can lie on its inner side.
fn sql_bound(bound: Bound<&DateTime<Utc>>, end: End) -> Option<(Option<DateTime<Utc>>, bool)> {
    let (at, included) = match bound {
        Bound::Unbounded => return Some((None, true)),
        Bound::Included(at) => (*at, true),
        Bound::Excluded(at) => (*at, false),
    };
    match (end, at.year() < 0, at.year() > 9999) {
        (_, false, false) => Some((Some(at), included)),
        (End::Start, true, _) | (End::Finish, _, true) => Some((None, true)),
        _ => None,
    }
}

/// Up to `limit` events of the feed after `after` recorded in `range`; see
/// [`factum_core::EventReader::read_all_between`].
pub(super) async fn read_all_between(
    reader: &Connections,
    range: TimeRange,
    after: GlobalPosition,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    let (commit, sequence) = after.to_parts();
    let start = sql_bound(range.start_bound(), End::Start);
    let finish = sql_bound(range.end_bound(), End::Finish);
    let (Some((start, start_included)), Some((finish, finish_included))) = (start, finish) else {
        return Ok(Vec::new());
    };
    if commit != 0 || limit == 0 {
        // Positions with a commit part come from no SQLite store; they lie
        // after every event here.
        return Ok(Vec::new());
    }
    let fail = |e: BoxError| {
        let operation = format!("reading the global feed after {after} recorded within {range:?}");
        backend(operation, e)
    };
    let mut conn = reader.acquire().await.map_err(|e| fail(e.into()))?;
    let rows = sqlx::query(sql::READ_ALL_BETWEEN)
        .bind(saturating_i64(sequence))
        .bind(saturating_i64(limit as u64))
        .bind(start)
        .bind(start_included)
        .bind(finish)
        .bind(finish_included)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| fail(e.into()))?;
    rows.iter().map(|row| recorded_event(row, None)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn bounds_beyond_the_stored_years_open_or_empty_the_range() {
        let early = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        let late = Utc.with_ymd_and_hms(12_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            sql_bound(Bound::Excluded(&early), End::Start),
            Some((None, true))
        );
        assert_eq!(
            sql_bound(Bound::Included(&late), End::Finish),
            Some((None, true))
        );
        assert_eq!(sql_bound(Bound::Included(&late), End::Start), None);
        assert_eq!(sql_bound(Bound::Excluded(&early), End::Finish), None);
        let now = Utc::now();
        assert_eq!(
            sql_bound(Bound::Excluded(&now), End::Start),
            Some((Some(now), false))
        );
    }
}
