//! [`FeedPage`]: a page of the global feed read through an
//! [`EventFilter`], and how far the read looked.

use crate::{EventFilter, EventReader, GlobalPosition, RecordedEvent, Result};

/// A page of the global feed read through an [`EventFilter`]
/// ([`EventReader::read_feed`]).
///
/// A sparse filter may look past many events to find a few: `scanned_to`
/// says how far it looked, so that a reader (a subscription, a
/// checkpoint) moves on even when `events` is empty, and never past an
/// event it has not been given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedPage {
    /// The matching events, in feed order.
    pub events: Vec<RecordedEvent>,
    /// The position the read looked up to: every matching event after the
    /// read's start and at or before it is in `events`. Read on after it.
    /// `None` when the read found no event at all after its start.
    pub scanned_to: Option<GlobalPosition>,
    /// Whether the read looked up to the end of the feed (as a reader may
    /// see it now): a reader that wants more waits for new events.
    pub at_end: bool,
}

impl FeedPage {
    /// Where a reader that started after `after` reads on.
    pub fn next_after(&self, after: GlobalPosition) -> GlobalPosition {
        self.scanned_to.map_or(after, |scanned| scanned.max(after))
    }
}

/// Pages of the unfiltered feed looked at by one [`read_feed`] default call,
/// at most: a bound on the work of one call over a sparse filter.
///
/// [`read_feed`]: EventReader::read_feed
const SCAN_PAGES: usize = 8;

/// The default [`EventReader::read_feed`]: reads the unfiltered feed with
/// [`read_all`](EventReader::read_all) and filters it here, looking at up
/// to [`SCAN_PAGES`] pages of at least 500 events.
pub(crate) async fn scan<R: EventReader + ?Sized>(
    reader: &R,
    after: GlobalPosition,
    limit: usize,
    filter: &EventFilter,
) -> Result<FeedPage> {
    let mut page = FeedPage::default();
    if limit == 0 {
        return Ok(page);
    }
    let batch = limit.max(500);
    let mut from = after;
    for _ in 0..SCAN_PAGES {
        let raw = reader.read_all(from, batch).await?;
        let full = raw.len() == batch;
        for event in raw {
            from = event.position;
            page.scanned_to = Some(event.position);
            if filter.matches(&event) {
                page.events.push(event);
                if page.events.len() == limit {
                    return Ok(page);
                }
            }
        }
        if !full {
            page.at_end = true;
            return Ok(page);
        }
    }
    Ok(page)
}
