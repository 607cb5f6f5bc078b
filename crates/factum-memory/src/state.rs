//! The data of a memory store and the synchronous operations on it. Callers
//! hold the store's lock around each call, which serializes writers: a plain
//! counter is then a final global position.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use factum_core::backend::check_duplicates;
use factum_core::{
    AppendResult, Direction, Error, EventOutcome, GlobalPosition, ParkedEvent, ReadOptions,
    RecordedEvent, Snapshot, StreamAppend, StreamId,
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

    /// Appends atomically: all checks run before the first write.
    pub(crate) fn append(
        &mut self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, Error> {
        check_duplicates(&appends, |key| self.keys.contains_key(key))?;
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
}
