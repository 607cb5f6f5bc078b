//! The data of a memory store and the synchronous operations on it. Callers
//! hold the store's lock around each call, which serializes writers: a plain
//! counter is then a final global position.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use factum_core::backend::{all_stored, check_duplicates};
use factum_core::{
    AppendCondition, AppendResult, Direction, Error, EventFilter, EventOutcome, FeedPage,
    GlobalPosition, ParkedEvent, ReadOptions, RecordedEvent, Snapshot, StreamAppend, StreamId,
};

#[derive(Debug, Default)]
pub(crate) struct State {
    /// The global feed; the event at index `i` has sequence `i + 1`.
    events: Vec<RecordedEvent>,
    /// For each stream, the feed index of each of its events, by version.
    streams: HashMap<StreamId, Vec<usize>>,
    /// Feed index of the event that carries each idempotency key.
    keys: HashMap<String, usize>,
    pub(crate) snapshots: HashMap<StreamId, Snapshot>,
    pub(crate) checkpoints: HashMap<String, GlobalPosition>,
    /// Parked events by projection name, then position.
    pub(crate) parked: HashMap<String, BTreeMap<GlobalPosition, ParkedEvent>>,
}

fn position_of(index: usize) -> GlobalPosition {
    GlobalPosition::from_parts(0, index as u64 + 1)
}

/// Feed index of the first event after `position`.
fn index_after(position: GlobalPosition) -> usize {
    match position.to_parts() {
        (0, sequence) => usize::try_from(sequence).unwrap_or(usize::MAX),
        // Positions with a commit part come from no memory store; they lie
        // after every event here.
        _ => usize::MAX,
    }
}

impl State {
    pub(crate) fn stream_version(&self, stream: &StreamId) -> Option<u64> {
        self.streams.get(stream).map(|v| v.len() as u64)
    }

    pub(crate) fn head_position(&self) -> Option<GlobalPosition> {
        self.events.len().checked_sub(1).map(position_of)
    }

    /// Appends atomically: all checks run before the first write. The
    /// condition, if any, is checked before the expected versions, and not
    /// at all when every event is stored already.
    pub(crate) fn append(
        &mut self,
        appends: Vec<StreamAppend>,
        condition: Option<&AppendCondition>,
    ) -> Result<Vec<AppendResult>, Error> {
        check_duplicates(&appends, |key| self.keys.contains_key(key))?;
        if let Some(condition) = condition
            && !all_stored(&appends, |key| self.keys.contains_key(key))
            && let Some(conflict) = condition.first_conflict(&self.events)
        {
            return Err(condition.failed(
                conflict.position,
                conflict.stream_id.clone(),
                conflict.stream_version,
                conflict.event_type.clone(),
            ));
        }
        for append in &appends {
            if !append.is_all_stored(|key| self.keys.contains_key(key)) {
                let actual = self.stream_version(&append.stream_id);
                append.expected.check(&append.stream_id, actual)?;
            }
        }
        // Never before the feed's newest event, even if the clock stepped
        // back: recorded times follow positions, so within a stream a later
        // version never carries an earlier time.
        let now = Utc::now();
        let recorded_at = self
            .events
            .last()
            .map_or(now, |last| last.recorded_at.max(now));
        let mut results = Vec::with_capacity(appends.len());
        for append in appends {
            let StreamAppend {
                stream_id, events, ..
            } = append;
            let mut outcomes = Vec::with_capacity(events.len());
            for event in events {
                if let Some(&index) = event
                    .idempotency_key
                    .as_ref()
                    .and_then(|k| self.keys.get(k))
                {
                    let original = &self.events[index];
                    outcomes.push(EventOutcome::Duplicate {
                        stream_id: original.stream_id.clone(),
                        stream_version: original.stream_version,
                        position: original.position,
                    });
                    continue;
                }
                let index = self.events.len();
                let versions = self.streams.entry(stream_id.clone()).or_default();
                versions.push(index);
                let stream_version = versions.len() as u64;
                let position = position_of(index);
                if let Some(key) = &event.idempotency_key {
                    self.keys.insert(key.clone(), index);
                }
                self.events.push(RecordedEvent::from_data(
                    event,
                    stream_id.clone(),
                    stream_version,
                    position,
                    recorded_at,
                ));
                outcomes.push(EventOutcome::Written {
                    stream_version,
                    position,
                });
            }
            results.push(AppendResult {
                current_version: self.stream_version(&stream_id),
                stream_id,
                events: outcomes,
            });
        }
        Ok(results)
    }

    /// One page of a stream read: up to `max` events starting at `cursor`
    /// (a version), moving in `options.direction()`. Returns the events and the
    /// cursor for the next page (`None` when the read is complete).
    pub(crate) fn stream_page(
        &self,
        stream: &StreamId,
        options: &ReadOptions,
        cursor: Option<u64>,
        max: usize,
    ) -> (Vec<RecordedEvent>, Option<u64>) {
        let Some(indices) = self.streams.get(stream) else {
            return (Vec::new(), None);
        };
        let (from, to) = options.version_range();
        let (low, high) = (from, to.min(indices.len() as u64));
        if low > high || max == 0 {
            return (Vec::new(), None);
        }
        let page: Vec<u64> = match options.direction() {
            Direction::Forward => {
                let start = cursor.unwrap_or(low);
                (start..=high).take(max).collect()
            }
            Direction::Backward => {
                let start = cursor.unwrap_or(high);
                (low..=start).rev().take(max).collect()
            }
        };
        let next = match (options.direction(), page.last()) {
            (Direction::Forward, Some(&last)) if last < high => Some(last + 1),
            (Direction::Backward, Some(&last)) if last > low => Some(last - 1),
            _ => None,
        };
        let events = page
            .into_iter()
            .map(|version| self.events[indices[version as usize - 1]].clone())
            .collect();
        (events, next)
    }

    pub(crate) fn read_all(&self, after: GlobalPosition, limit: usize) -> Vec<RecordedEvent> {
        let start = index_after(after).min(self.events.len());
        self.events[start..].iter().take(limit).cloned().collect()
    }

    /// Up to `limit` events after `after` that `filter` lets through,
    /// looking at [`FEED_SCAN`] events at most and copying only those that
    /// match; see [`factum_core::EventReader::read_feed`].
    pub(crate) fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> FeedPage {
        let start = index_after(after).min(self.events.len());
        let window = &self.events[start..self.events.len().min(start.saturating_add(FEED_SCAN))];
        let mut page = FeedPage::default();
        for event in window {
            if page.events.len() == limit {
                return page;
            }
            page.scanned_to = Some(event.position);
            if filter.matches(event) {
                page.events.push(event.clone());
            }
        }
        page.at_end = start + window.len() == self.events.len();
        page
    }
}

/// Events one filtered read looks at, at most: a bound on how long it
/// holds the store's lock.
const FEED_SCAN: usize = 50_000;
