//! [`TimeRange`]: which recorded times a ranged read of the global feed
//! covers, and the reading that any backend can do with `read_all` alone.

use std::ops::{Bound, RangeBounds};

use chrono::{DateTime, Utc};

use crate::{EventFilter, EventReader, FeedPage, GlobalPosition, RecordedEvent, Result};

/// A span of recorded times (`RecordedEvent::recorded_at`), each end
/// included, excluded or open, built from any Rust range:
/// `TimeRange::new(monday..tuesday)` is Monday 00:00 included up to
/// Tuesday 00:00 excluded, so consecutive days never share an event;
/// `TimeRange::new(..=at)` (also [`TimeRange::until`]) is everything
/// recorded at or before `at`, what [`Repository::load_at_time`] folds.
///
/// ```
/// use factum_core::TimeRange;
/// use chrono::{TimeZone, Utc};
///
/// let monday = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
/// let tuesday = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap();
/// let day = TimeRange::new(monday..tuesday);
/// assert!(day.contains(&monday) && !day.contains(&tuesday));
/// assert!(TimeRange::until(tuesday).contains(&tuesday));
/// ```
///
/// [`Repository::load_at_time`]: crate::aggregate::Repository::load_at_time
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    start: Bound<DateTime<Utc>>,
    end: Bound<DateTime<Utc>>,
}

impl TimeRange {
    /// The times `range` covers, with its ends as given.
    pub fn new(range: impl RangeBounds<DateTime<Utc>>) -> Self {
        Self {
            start: range.start_bound().cloned(),
            end: range.end_bound().cloned(),
        }
    }

    /// Every time at or before `at` (`..=at`).
    pub fn until(at: DateTime<Utc>) -> Self {
        Self::new(..=at)
    }

    /// Every time.
    pub fn all() -> Self {
        Self::new(..)
    }

    /// Whether `at` lies in the range.
    pub fn contains(&self, at: &DateTime<Utc>) -> bool {
        RangeBounds::contains(self, at)
    }
}

impl RangeBounds<DateTime<Utc>> for TimeRange {
    fn start_bound(&self) -> Bound<&DateTime<Utc>> {
        self.start.as_ref()
    }

    fn end_bound(&self) -> Bound<&DateTime<Utc>> {
        self.end.as_ref()
    }
}

/// Events of the feed after `after` whose recorded time lies in `range`, at
/// most `limit`, in position order, found by paging
/// [`read_all`](EventReader::read_all) and keeping what lies in the range:
/// the default of [`EventReader::read_all_between`], right on every backend
/// (it scans the whole feed after `after`, so backends with an index on the
/// recorded time answer it themselves).
pub(crate) async fn read_all_between<R: EventReader + ?Sized>(
    reader: &R,
    range: TimeRange,
    mut after: GlobalPosition,
    limit: usize,
) -> Result<Vec<RecordedEvent>> {
    let page_size = limit.clamp(256, 4096);
    let mut found = Vec::new();
    while found.len() < limit {
        let page = reader.read_all(after, page_size).await?;
        let short = page.len() < page_size;
        for event in page {
            after = event.position;
            if range.contains(&event.recorded_at) {
                found.push(event);
                if found.len() == limit {
                    break;
                }
            }
        }
        if short {
            break;
        }
    }
    Ok(found)
}

/// One page through `filter` after `after` ([`EventReader::read_feed`]),
/// kept to the events recorded in `range`: the default of
/// [`EventReader::read_feed_between`]. How far the page looked stays as
/// read, since every event it passed over was looked at.
pub(crate) async fn read_feed_between<R: EventReader + ?Sized>(
    reader: &R,
    range: TimeRange,
    after: GlobalPosition,
    limit: usize,
    filter: &EventFilter,
) -> Result<FeedPage> {
    let page = reader.read_feed(after, limit, filter).await?;
    Ok(FeedPage {
        events: page
            .events
            .into_iter()
            .filter(|event| range.contains(&event.recorded_at))
            .collect(),
        ..page
    })
}
