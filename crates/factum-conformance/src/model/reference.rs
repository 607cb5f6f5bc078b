//! The reference model of the property test: what a store must answer,
//! computed from the events it was given, and the checks of a backend's
//! answers against it.

use std::collections::HashMap;

use super::{QuerySpec, TAGS};
use factum_core::backend::{all_stored, check_duplicates, validate_appends};
use factum_core::{
    AppendCondition, AppendResult, Direction, Error, EventData, EventOutcome, EventQuery,
    GlobalPosition, QueryItem, ReadOptions, RecordedEvent, StreamAppend, StreamId, Tag,
};

/// What the model remembers of one stored event.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stored {
    stream: StreamId,
    version: u64,
    event_type: String,
    payload: serde_json::Value,
    key: Option<String>,
    tags: Vec<Tag>,
}

/// The tags whose bits `bits` sets.
pub(super) fn tags(bits: u8) -> Vec<Tag> {
    (0..TAGS.len())
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| Tag::new(TAGS[i]).expect("valid tag"))
        .collect()
}

/// The query `spec` describes.
pub(super) fn query(spec: &QuerySpec) -> EventQuery {
    spec.iter()
        .fold(EventQuery::new(), |query, &(types, tag_bits)| {
            let types = (0..3)
                .filter(|i| types & (1 << i) != 0)
                .map(|i| format!("E{i}"));
            query.or(QueryItem::types(types).with_tags(tags(tag_bits)))
        })
}

#[derive(Default)]
pub(super) struct Model {
    pub(super) feed: Vec<Stored>,
    /// The backend's position of each event of `feed`, learnt as it writes.
    pub(super) positions: Vec<GlobalPosition>,
    keys: HashMap<String, usize>,
}

pub(super) fn stream_name(index: usize) -> StreamId {
    StreamId::new(format!("model-{index}")).expect("valid stream id")
}

impl Model {
    pub(super) fn version(&self, stream: &StreamId) -> Option<u64> {
        let count = self.feed.iter().filter(|e| &e.stream == stream).count() as u64;
        (count > 0).then_some(count)
    }

    /// Predicts the outcome of an append without changing the model; on
    /// success returns, per stream, per event: `Ok(version)` for a write or
    /// `Err(feed index)` for a duplicate.
    pub(super) fn predict(
        &self,
        appends: &[StreamAppend],
        condition: Option<&AppendCondition>,
    ) -> Result<Vec<Vec<Result<u64, usize>>>, Error> {
        validate_appends(appends)?;
        check_duplicates(appends, |k| self.keys.contains_key(k))?;
        let all_stored = all_stored(appends, |k| self.keys.contains_key(k));
        if let Some(condition) = condition.filter(|_| !all_stored) {
            let conflict = (0..self.feed.len()).find(|&i| {
                let e = &self.feed[i];
                self.positions[i] > condition.after
                    && condition.query.matches(&e.event_type, &e.tags)
            });
            if let Some(i) = conflict {
                let e = &self.feed[i];
                return Err(condition.failed(
                    self.positions[i],
                    e.stream.clone(),
                    e.version,
                    e.event_type.clone(),
                ));
            }
        }
        for a in appends {
            if !a.is_all_stored(|k| self.keys.contains_key(k)) {
                a.expected.check(&a.stream_id, self.version(&a.stream_id))?;
            }
        }
        Ok(appends
            .iter()
            .map(|a| {
                let mut next = self.version(&a.stream_id).unwrap_or(0);
                a.events
                    .iter()
                    .map(
                        |e| match e.idempotency_key.as_ref().and_then(|k| self.keys.get(k)) {
                            Some(&index) => Err(index),
                            None => {
                                next += 1;
                                Ok(next)
                            }
                        },
                    )
                    .collect()
            })
            .collect())
    }

    pub(super) fn check_append(
        &mut self,
        appends: Vec<StreamAppend>,
        condition: Option<&AppendCondition>,
        got: Result<Vec<AppendResult>, Error>,
    ) {
        match (self.predict(&appends, condition), got) {
            (Ok(predicted), Ok(results)) => {
                assert_eq!(results.len(), appends.len(), "one result per stream");
                for ((append, prediction), result) in
                    appends.into_iter().zip(predicted).zip(results)
                {
                    assert_eq!(result.stream_id, append.stream_id);
                    for ((event, expected), outcome) in append
                        .events
                        .into_iter()
                        .zip(prediction)
                        .zip(&result.events)
                    {
                        self.check_outcome(&append.stream_id, event, expected, outcome);
                    }
                    assert_eq!(
                        result.current_version,
                        self.version(&append.stream_id),
                        "current version of {}",
                        append.stream_id
                    );
                }
            }
            (Err(expected), Err(got)) => match (&expected, &got) {
                (Error::InvalidAppend(a), Error::InvalidAppend(b)) => assert_eq!(a, b),
                (
                    Error::VersionConflict {
                        stream: s1,
                        expected: e1,
                        actual: a1,
                    },
                    Error::VersionConflict {
                        stream: s2,
                        expected: e2,
                        actual: a2,
                    },
                ) => assert_eq!((s1, e1, a1), (s2, e2, a2)),
                (
                    Error::MixedDuplicates {
                        duplicate_keys: k1,
                        new_in: n1,
                    },
                    Error::MixedDuplicates {
                        duplicate_keys: k2,
                        new_in: n2,
                    },
                ) => assert_eq!((k1, n1), (k2, n2)),
                (Error::ConditionFailed { .. }, Error::ConditionFailed { .. }) => {
                    assert_eq!(expected.to_string(), got.to_string(), "the conflict named")
                }
                _ => panic!("model expected error {expected}, backend gave {got}"),
            },
            (Ok(_), Err(got)) => panic!("model expected success, backend failed: {got}"),
            (Err(expected), Ok(got)) => {
                panic!("model expected {expected}, backend succeeded: {got:?}")
            }
        }
    }

    pub(super) fn check_outcome(
        &mut self,
        stream: &StreamId,
        event: EventData,
        expected: Result<u64, usize>,
        got: &EventOutcome,
    ) {
        match (expected, got) {
            (
                Ok(version),
                EventOutcome::Written {
                    stream_version,
                    position,
                },
            ) => {
                assert_eq!(*stream_version, version, "version written in {stream}");
                if let Some(last) = self.positions.last() {
                    assert!(position > last, "position {position} is not after {last}");
                }
                if let Some(key) = &event.idempotency_key {
                    self.keys.insert(key.clone(), self.feed.len());
                }
                self.positions.push(*position);
                self.feed.push(Stored {
                    stream: stream.clone(),
                    version,
                    event_type: event.event_type,
                    payload: serde_json::from_slice(&event.payload)
                        .expect("test payloads are JSON"),
                    key: event.idempotency_key,
                    tags: event.tags,
                });
            }
            (
                Err(index),
                EventOutcome::Duplicate {
                    stream_id,
                    stream_version,
                    position,
                },
            ) => {
                let original = &self.feed[index];
                assert_eq!(
                    (stream_id, *stream_version, *position),
                    (&original.stream, original.version, self.positions[index])
                );
            }
            (expected, got) => panic!(
                "model expected {expected:?} (Ok: version written, Err: duplicate of feed index), backend gave {got:?}"
            ),
        }
    }

    pub(super) fn check_read(&self, got: &[RecordedEvent], expected: Vec<usize>, what: &str) {
        let got: Vec<(Stored, GlobalPosition)> = got
            .iter()
            .map(|e| {
                let stored = Stored {
                    stream: e.stream_id.clone(),
                    version: e.stream_version,
                    event_type: e.event_type.clone(),
                    payload: serde_json::from_slice(&e.payload).expect("stored payloads are JSON"),
                    key: e.idempotency_key.clone(),
                    tags: e.tags.clone(),
                };
                (stored, e.position)
            })
            .collect();
        let expected: Vec<(Stored, GlobalPosition)> = expected
            .into_iter()
            .map(|i| (self.feed[i].clone(), self.positions[i]))
            .collect();
        assert_eq!(got, expected, "{what}");
    }

    /// The feed indices of the events `query` matches.
    pub(super) fn matching(&self, query: &EventQuery) -> Vec<usize> {
        (0..self.feed.len())
            .filter(|&i| query.matches(&self.feed[i].event_type, &self.feed[i].tags))
            .collect()
    }

    /// The `n`-th known position, modulo their count; 0: the start.
    pub(super) fn known_position(&self, n: usize) -> GlobalPosition {
        match n % (self.positions.len() + 1) {
            0 => GlobalPosition::START,
            n => self.positions[n - 1],
        }
    }

    pub(super) fn expected_stream_read(
        &self,
        stream: &StreamId,
        options: &ReadOptions,
    ) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..self.feed.len())
            .filter(|&i| &self.feed[i].stream == stream && options.contains(self.feed[i].version))
            .collect();
        if options.direction() == Direction::Backward {
            indices.reverse();
        }
        indices.truncate(options.limit().unwrap_or(usize::MAX));
        indices
    }
}
