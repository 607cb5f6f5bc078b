//! [`Fold`]: what the subscribers, the in-memory read models and the final
//! scan each make of the events they see, in bounded memory (a few numbers
//! per stream), and compare at the end.

use std::collections::BTreeMap;

use factum::{GlobalPosition, RecordedEvent};
use serde::Deserialize;

use crate::stats::mix;

/// Per stream: events, sum of their amounts, last version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Total {
    pub(crate) events: u64,
    pub(crate) amount: u64,
    pub(crate) version: u64,
}

/// A fold of the feed as one reader saw it.
#[derive(Debug, Default)]
pub(crate) struct Fold {
    /// Events folded (each once).
    pub(crate) count: u64,
    /// Sum of a hash of every position folded: equal sets of positions give
    /// equal fingerprints.
    pub(crate) fingerprint: u64,
    pub(crate) last: Option<GlobalPosition>,
    pub(crate) streams: BTreeMap<String, Total>,
    /// Events at or before `last`, not folded again.
    pub(crate) old: u64,
    /// What was wrong, the first few times (a soak failure).
    pub(crate) problems: Vec<String>,
    /// How many problems there were in all.
    pub(crate) problem_count: u64,
    /// Errors the reader met and carried on after (transient ones).
    pub(crate) transient_errors: u64,
}

#[derive(Deserialize)]
struct Payload {
    amount: u64,
}

/// How [`Fold::apply`] took an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    Folded,
    /// At or before the last position folded: left out.
    Old,
}

impl Fold {
    /// Folds `event` unless its position is not after the last one folded;
    /// notes a version that does not follow its stream's last one, or a
    /// payload without an amount.
    pub(crate) fn apply(&mut self, event: &RecordedEvent) -> Applied {
        if self.last.is_some_and(|last| event.position <= last) {
            self.old += 1;
            return Applied::Old;
        }
        let amount = match serde_json::from_slice::<Payload>(&event.payload) {
            Ok(payload) => payload.amount,
            Err(e) => {
                self.problem(format!("event {} has no amount: {e}", event.position));
                0
            }
        };
        let total = self.streams.entry(event.stream_id.to_string()).or_default();
        let gap = (event.stream_version != total.version + 1).then(|| {
            format!(
                "stream {} went from version {} to {} at position {}",
                event.stream_id, total.version, event.stream_version, event.position
            )
        });
        total.events += 1;
        total.amount += amount;
        total.version = event.stream_version;
        if let Some(message) = gap {
            self.problem(message);
        }
        self.count += 1;
        self.fingerprint = self.fingerprint.wrapping_add(fingerprint(event.position));
        self.last = Some(event.position);
        Applied::Folded
    }

    /// Notes a problem; keeps the first ten.
    pub(crate) fn problem(&mut self, message: String) {
        self.problem_count += 1;
        if self.problems.len() < 10 {
            self.problems.push(message);
        }
    }

    /// What differs between this fold and `other` (the fold of the stored
    /// events), if anything.
    pub(crate) fn differs_from(&self, stored: &Fold) -> Option<String> {
        if self.count != stored.count {
            return Some(format!(
                "folded {} events, the store holds {}",
                self.count, stored.count
            ));
        }
        if self.fingerprint != stored.fingerprint {
            return Some("folded other positions than the store holds".into());
        }
        if self.streams != stored.streams {
            let stream = stored
                .streams
                .iter()
                .find(|(name, total)| self.streams.get(*name) != Some(total))
                .map_or("(a stream the store lacks)", |(name, _)| name.as_str());
            return Some(format!(
                "per-stream totals differ from a fold of the stored events, e.g. {stream}: {:?} vs stored {:?}",
                self.streams.get(stream),
                stored.streams.get(stream)
            ));
        }
        None
    }
}

/// The hash of a position that fingerprints add up.
fn fingerprint(position: GlobalPosition) -> u64 {
    let (commit, sequence) = position.to_parts();
    mix(mix(commit) ^ sequence)
}
