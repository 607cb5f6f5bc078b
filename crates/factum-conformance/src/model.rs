//! Property test: random sequences of appends and reads run against a
//! backend and against a small reference model; the two must agree on every
//! result and every read.

use std::collections::HashMap;
use std::future::Future;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::Fixture;
use factum_core::backend::{check_duplicates, validate_appends};
use factum_core::{
    AppendResult, Direction, Error, EventData, EventOutcome, EventStore, ExpectedVersion,
    GlobalPosition, ReadOptions, RecordedEvent, StreamAppend, StreamId,
};

const STREAMS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    /// Per stream: which stream, the expectation, and per event an optional key.
    Append(Vec<(usize, ExpectedVersion, Vec<Option<u8>>, bool)>),
    ReadStream(usize, ReadOptions),
    /// Read after the n-th known position (0: the start), modulo the count.
    ReadAll(usize, usize),
    Version(usize),
}

fn expected_version() -> impl Strategy<Value = ExpectedVersion> {
    prop_oneof![
        Just(ExpectedVersion::Any),
        Just(ExpectedVersion::NoStream),
        Just(ExpectedVersion::StreamExists),
        (0..8u64).prop_map(ExpectedVersion::Exact),
    ]
}

fn read_options() -> impl Strategy<Value = ReadOptions> {
    (
        proptest::option::of(0..10u64),
        proptest::option::of(0..10u64),
        proptest::option::of(0..6usize),
        any::<bool>(),
    )
        .prop_map(|(from_version, to_version, limit, backward)| {
            let mut options = ReadOptions::all().with_direction(if backward {
                Direction::Backward
            } else {
                Direction::Forward
            });
            if let Some(version) = from_version {
                options = options.with_from_version(version);
            }
            if let Some(version) = to_version {
                options = options.with_to_version(version);
            }
            if let Some(limit) = limit {
                options = options.with_limit(limit);
            }
            options
        })
}

fn op() -> impl Strategy<Value = Op> {
    let key = proptest::option::weighted(0.4, 0..10u8);
    let stream_append = (
        0..STREAMS,
        expected_version(),
        proptest::collection::vec(key, 0..4),
        // Whether the append lets the call mix stored and new events.
        proptest::bool::weighted(0.3),
    );
    prop_oneof![
        5 => proptest::collection::vec(stream_append, 0..3).prop_map(Op::Append),
        2 => (0..STREAMS, read_options()).prop_map(|(s, o)| Op::ReadStream(s, o)),
        1 => (0..64usize, 0..6usize).prop_map(|(a, l)| Op::ReadAll(a, l)),
        1 => (0..STREAMS).prop_map(Op::Version),
    ]
}

/// What the model remembers of one stored event.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    stream: StreamId,
    version: u64,
    event_type: String,
    payload: serde_json::Value,
    key: Option<String>,
}

#[derive(Default)]
struct Model {
    feed: Vec<Stored>,
    /// The backend's position of each event of `feed`, learnt as it writes.
    positions: Vec<GlobalPosition>,
    keys: HashMap<String, usize>,
}

fn stream_name(index: usize) -> StreamId {
    StreamId::new(format!("model-{index}")).expect("valid stream id")
}

impl Model {
    fn version(&self, stream: &StreamId) -> Option<u64> {
        let count = self.feed.iter().filter(|e| &e.stream == stream).count() as u64;
        (count > 0).then_some(count)
    }

    /// Predicts the outcome of an append without changing the model; on
    /// success returns, per stream, per event: `Ok(version)` for a write or
    /// `Err(feed index)` for a duplicate.
    fn predict(&self, appends: &[StreamAppend]) -> Result<Vec<Vec<Result<u64, usize>>>, Error> {
        validate_appends(appends)?;
        check_duplicates(appends, |k| self.keys.contains_key(k))?;
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

    fn check_append(&mut self, appends: Vec<StreamAppend>, got: Result<Vec<AppendResult>, Error>) {
        match (self.predict(&appends), got) {
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
                _ => panic!("model expected error {expected}, backend gave {got}"),
            },
            (Ok(_), Err(got)) => panic!("model expected success, backend failed: {got}"),
            (Err(expected), Ok(got)) => {
                panic!("model expected {expected}, backend succeeded: {got:?}")
            }
        }
    }

    fn check_outcome(
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

    fn check_read(&self, got: &[RecordedEvent], expected: Vec<usize>, what: &str) {
        let got: Vec<(Stored, GlobalPosition)> = got
            .iter()
            .map(|e| {
                let stored = Stored {
                    stream: e.stream_id.clone(),
                    version: e.stream_version,
                    event_type: e.event_type.clone(),
                    payload: serde_json::from_slice(&e.payload).expect("stored payloads are JSON"),
                    key: e.idempotency_key.clone(),
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

    fn expected_stream_read(&self, stream: &StreamId, options: &ReadOptions) -> Vec<usize> {
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

async fn run_case(store: &dyn EventStore, ops: Vec<Op>) {
    let mut model = Model::default();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Append(spec) => {
                let appends: Vec<StreamAppend> = spec
                    .into_iter()
                    .enumerate()
                    .map(|(n, (s, expected, keys, skip))| {
                        let events = keys
                            .into_iter()
                            .enumerate()
                            .map(|(i, key)| {
                                let payload = format!(r#"{{"step":{step},"stream":{n},"i":{i}}}"#);
                                let event = EventData::json(format!("E{i}"), payload.into_bytes());
                                match key {
                                    Some(k) => event.with_idempotency_key(format!("key-{k}")),
                                    None => event,
                                }
                            })
                            .collect();
                        let append = StreamAppend::new(stream_name(s), expected, events);
                        if skip {
                            append.skipping_duplicates()
                        } else {
                            append
                        }
                    })
                    .collect();
                let got = store.append_many(appends.clone()).await;
                model.check_append(appends, got);
            }
            Op::ReadStream(s, options) => {
                let stream = stream_name(s);
                let got = store
                    .read_stream(&stream, options)
                    .await
                    .expect("stream read");
                model.check_read(
                    &got,
                    model.expected_stream_read(&stream, &options),
                    &format!("read {stream} with {options:?}"),
                );
            }
            Op::ReadAll(after, limit) => {
                let after = after % (model.positions.len() + 1);
                let from = if after == 0 {
                    GlobalPosition::START
                } else {
                    model.positions[after - 1]
                };
                let got = store.read_all(from, limit).await.expect("feed read");
                let expected = (after..model.feed.len()).take(limit).collect();
                model.check_read(
                    &got,
                    expected,
                    &format!("read_all after {from} limit {limit}"),
                );
            }
            Op::Version(s) => {
                let stream = stream_name(s);
                assert_eq!(
                    store.stream_version(&stream).await.expect("version"),
                    model.version(&stream),
                    "version of {stream}"
                );
            }
        }
    }
    let feed = store
        .read_all(GlobalPosition::START, 10_000)
        .await
        .expect("feed read");
    model.check_read(
        &feed,
        (0..model.feed.len()).collect(),
        "whole feed at the end",
    );
}

/// Runs random operation sequences against fresh stores from `fixture` and
/// against the model. The number of cases is `FACTUM_MODEL_CASES` (default
/// 32). Call it from a plain `#[test]`: it runs its own tokio runtime.
pub fn model_agreement<F, Fut>(fixture: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let cases = std::env::var("FACTUM_MODEL_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        runtime.block_on(async {
            let fixture = fixture().await;
            run_case(&*fixture.store, ops).await;
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("backend and model disagree: {e}");
    }
}
