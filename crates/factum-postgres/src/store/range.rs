//! Ranged reads of the global feed: the feed's pages (`feed.rs`) kept to
//! the events recorded in a [`TimeRange`] (`sql/recorded_within.sql`,
//! added to `read_all.sql` by `sql.rs`).

use std::ops::{Bound, RangeBounds};

use chrono::{DateTime, TimeDelta, Utc};
use factum_core::{GlobalPosition, RecordedEvent, Result, TimeRange};

use super::PostgresStore;

/// Which way a bound between two microseconds moves onto one.
#[derive(Clone, Copy)]
enum Round {
    /// A start: to the next microsecond.
    Up,
    /// An end: to the previous one.
    Down,
}

/// A bound as bound to SQL: the time (`None`: open) and whether it is
/// included. PostgreSQL keeps microseconds and sqlx drops a time's
/// nanoseconds, so a bound between two microseconds becomes the included
/// microsecond on its inner side: the same events lie within.
fn sql_bound(bound: Bound<&DateTime<Utc>>, round: Round) -> (Option<DateTime<Utc>>, bool) {
    let (at, included) = match bound {
        Bound::Unbounded => return (None, true),
        Bound::Included(at) => (*at, true),
        Bound::Excluded(at) => (*at, false),
    };
    let below = i64::from(at.timestamp_subsec_nanos() % 1_000);
    if below == 0 {
        return (Some(at), included);
    }
    let floor = at - TimeDelta::nanoseconds(below);
    match round {
        Round::Down => (Some(floor), true),
        Round::Up => (Some(floor + TimeDelta::microseconds(1)), true),
    }
}

impl PostgresStore {
    pub(super) async fn read_feed_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let (start, start_included) = sql_bound(range.start_bound(), Round::Up);
        let (end, end_included) = sql_bound(range.end_bound(), Round::Down);
        let operation = format!("reading the global feed after {after} recorded within {range:?}");
        self.read_final(
            &self.sql().read_all_between,
            after,
            limit,
            &operation,
            |query| {
                query
                    .bind(start)
                    .bind(start_included)
                    .bind(end)
                    .bind(end_included)
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn bounds_between_microseconds_move_inwards() {
        let at = Utc.timestamp_opt(1_700_000_000, 1_500).unwrap();
        let (floor, ceil) = (
            Utc.timestamp_opt(1_700_000_000, 1_000).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 2_000).unwrap(),
        );
        assert_eq!(
            sql_bound(Bound::Excluded(&at), Round::Up),
            (Some(ceil), true)
        );
        assert_eq!(
            sql_bound(Bound::Included(&at), Round::Up),
            (Some(ceil), true)
        );
        assert_eq!(
            sql_bound(Bound::Excluded(&at), Round::Down),
            (Some(floor), true)
        );
        assert_eq!(
            sql_bound(Bound::Included(&at), Round::Down),
            (Some(floor), true)
        );
        assert_eq!(
            sql_bound(Bound::Excluded(&floor), Round::Up),
            (Some(floor), false)
        );
        assert_eq!(sql_bound(Bound::Unbounded, Round::Down), (None, true));
    }
}
