//! Property test: random sequences of appends and reads run against a
//! backend and against a small reference model; the two must agree on every
//! result and every read.

use std::future::Future;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

mod reference;

use super::Fixture;
use factum_core::{
    AppendCondition, Direction, EventData, EventStore, ExpectedVersion, GlobalPosition,
    ReadOptions, StreamAppend,
};
use reference::{Model, query, stream_name, tags};

const STREAMS: usize = 4;

/// Per stream: which stream, the expectation, per event an optional key and
/// its tags (bits of [`TAGS`]), and whether it skips duplicates.
type AppendSpec = (usize, ExpectedVersion, Vec<(Option<u8>, u8)>, bool);

/// A query: per item, its types (bits of `E0`..`E2`) and tags (bits of
/// [`TAGS`]).
type QuerySpec = Vec<(u8, u8)>;

/// The tags the model's events carry, as bits.
const TAGS: [&str; 3] = ["t:0", "t:1", "t:2"];

#[derive(Debug, Clone)]
enum Op {
    /// The streams appended to, and maybe a condition: a query and the
    /// n-th known position (0: the start; modulo the count) it is after.
    Append(Vec<AppendSpec>, Option<(QuerySpec, usize)>),
    ReadQuery(QuerySpec),
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

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    proptest::collection::vec((0..8u8, 0..8u8), 0..3)
}

fn op() -> impl Strategy<Value = Op> {
    let key = proptest::option::weighted(0.4, 0..10u8);
    let stream_append = (
        0..STREAMS,
        expected_version(),
        proptest::collection::vec((key, 0..8u8), 0..4),
        // Whether the append lets the call mix stored and new events.
        proptest::bool::weighted(0.3),
    );
    let condition = proptest::option::weighted(0.4, (query_spec(), 0..64usize));
    prop_oneof![
        5 => (proptest::collection::vec(stream_append, 0..3), condition)
            .prop_map(|(appends, condition)| Op::Append(appends, condition)),
        1 => query_spec().prop_map(Op::ReadQuery),
        2 => (0..STREAMS, read_options()).prop_map(|(s, o)| Op::ReadStream(s, o)),
        1 => (0..64usize, 0..6usize).prop_map(|(a, l)| Op::ReadAll(a, l)),
        1 => (0..STREAMS).prop_map(Op::Version),
    ]
}

async fn run_case(store: &dyn EventStore, ops: Vec<Op>) {
    let mut model = Model::default();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Append(spec, condition) => {
                let appends: Vec<StreamAppend> = spec
                    .into_iter()
                    .enumerate()
                    .map(|(n, (s, expected, keys, skip))| {
                        let events = keys
                            .into_iter()
                            .enumerate()
                            .map(|(i, (key, tag_bits))| {
                                let payload = format!(r#"{{"step":{step},"stream":{n},"i":{i}}}"#);
                                let event = EventData::json(format!("E{i}"), payload.into_bytes())
                                    .with_tags(tags(tag_bits));
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
                let condition = condition.map(|(spec, after)| {
                    AppendCondition::new(query(&spec), model.known_position(after))
                });
                let got = match &condition {
                    Some(c) => store.append_if(appends.clone(), c.clone()).await,
                    None => store.append_many(appends.clone()).await,
                };
                model.check_append(appends, condition.as_ref(), got);
            }
            Op::ReadQuery(spec) => {
                let query = query(&spec);
                let got = store.read_query(&query).await.expect("query read");
                let expected = model.matching(&query);
                model.check_read(&got.events, expected, &format!("read_query {query:?}"));
                let head = model
                    .positions
                    .last()
                    .copied()
                    .unwrap_or(GlobalPosition::START);
                assert!(
                    got.position <= head,
                    "a query read's position lies at most at the head"
                );
                if let Some(last) = got.events.last() {
                    assert!(
                        got.position >= last.position,
                        "a query read's position covers its events"
                    );
                }
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
                let from = model.known_position(after);
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
