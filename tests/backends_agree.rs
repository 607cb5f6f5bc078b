//! Every backend refuses the same input: the same random appends (payloads
//! of random bytes and of JSON near what PostgreSQL refuses, odd event
//! types, idempotency keys and metadata, stream ids near their limit) go to
//! the memory, SQLite and PostgreSQL stores, and each must come out the same:
//! the same kind of error, or the same events stored.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::collections::BTreeMap;

use factum::memory::MemoryStore;
use factum::postgres::testing::TestSchema;
use factum::sqlite::SqliteStore;
use factum::{
    Error, EventData, EventOutcome, EventStore, ExpectedVersion, Metadata, PayloadFormat,
    ReadOptions, StreamAppend, StreamId,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Text that often holds what some store may refuse: NUL and other control
/// characters, non-ASCII, and lengths near the limits.
fn odd_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9._-]{1,12}",
        1 => "\\PC{0,8}",
        1 => "[a\u{0}\u{1}\u{7f}é€😀]{0,6}",
        1 => (max - 2..max + 2).prop_map(|n| "k".repeat(n)),
        1 => (max / 4 - 1..max / 4 + 2).prop_map(|n| "😀".repeat(n)),
    ]
}

/// A JSON value built from Rust values (no floats, whose text JSONB
/// rewrites): strings may hold NUL, which serializes as `\u0000`.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        odd_text(40).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(odd_text(20), inner, 0..4)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A payload and its format: JSON values, hand-written escapes (lone
/// surrogates, NUL, escaped backslashes), or random bytes.
fn payload() -> impl Strategy<Value = (PayloadFormat, Vec<u8>)> {
    prop_oneof![
        4 => json_value().prop_map(|v| (PayloadFormat::Json, v.to_string().into_bytes())),
        2 => (0u32..=0xffff, any::<bool>()).prop_map(|(unit, escaped_backslash)| {
            let backslash = if escaped_backslash { "\\\\" } else { "" };
            let text = format!(r#"{{"a":"{backslash}\u{unit:04x}"}}"#);
            (PayloadFormat::Json, text.into_bytes())
        }),
        1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| (PayloadFormat::Json, b)),
        1 => prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| (PayloadFormat::MessagePack, b)),
    ]
}

fn event() -> impl Strategy<Value = EventData> {
    (
        odd_text(255),
        payload(),
        proptest::option::weighted(0.4, odd_text(512)),
        proptest::option::of(odd_text(20)),
        prop::collection::btree_map(odd_text(10), odd_text(20), 0..2),
    )
        .prop_map(|(event_type, (format, payload), key, actor, custom)| {
            let metadata = Metadata {
                actor,
                custom,
                ..Metadata::default()
            };
            let mut event = EventData::new(event_type, format, payload).with_metadata(metadata);
            event.idempotency_key = key;
            event
        })
}

fn appends() -> impl Strategy<Value = Vec<StreamAppend>> {
    let stream = odd_text(255).prop_filter_map("a valid stream id", |s| StreamId::new(s).ok());
    let expected = prop_oneof![Just(ExpectedVersion::Any), Just(ExpectedVersion::NoStream)];
    let append = (stream, expected, prop::collection::vec(event(), 1..3))
        .prop_map(|(stream, expected, events)| StreamAppend::new(stream, expected, events));
    prop::collection::vec(append, 1..3)
}

/// What an append came to, in terms every backend shares: the error's kind,
/// or the outcomes and the stored events (JSON compared as values, since
/// JSONB rewrites the text; positions left out, since they differ by
/// backend).
#[derive(Debug, PartialEq)]
enum Outcome {
    Refused(String),
    Stored(Vec<StoredStream>),
}

#[derive(Debug, PartialEq)]
struct StoredStream {
    stream: String,
    outcomes: Vec<(bool, u64)>,
    events: Vec<StoredEvent>,
}

#[derive(Debug, PartialEq)]
struct StoredEvent {
    version: u64,
    event_type: String,
    payload: Result<serde_json::Value, Vec<u8>>,
    metadata: Metadata,
    key: Option<String>,
}

fn error_kind(error: &Error) -> String {
    match error {
        Error::InvalidAppend(invalid) => {
            let debug = format!("{invalid:?}");
            let variant = debug.split([' ', '(', '{']).next().unwrap_or_default();
            format!("InvalidAppend::{variant}")
        }
        Error::VersionConflict { .. } => "VersionConflict".into(),
        other => format!("{other}"),
    }
}

async fn outcome(store: &dyn EventStore, appends: Vec<StreamAppend>) -> Outcome {
    let streams: Vec<StreamId> = appends.iter().map(|a| a.stream_id.clone()).collect();
    let results = match store.append_many(appends).await {
        Ok(results) => results,
        Err(error) => return Outcome::Refused(error_kind(&error)),
    };
    let mut stored = Vec::new();
    for (stream, result) in streams.iter().zip(results) {
        let events = store
            .read_stream(stream, ReadOptions::all())
            .await
            .unwrap()
            .into_iter()
            .map(|e| StoredEvent {
                version: e.stream_version,
                event_type: e.event_type,
                payload: match e.format {
                    PayloadFormat::Json => Ok(serde_json::from_slice(&e.payload).unwrap()),
                    PayloadFormat::MessagePack => Err(e.payload),
                },
                metadata: e.metadata,
                key: e.idempotency_key,
            })
            .collect();
        let outcomes = result
            .events
            .iter()
            .map(|o| match o {
                EventOutcome::Written { stream_version, .. } => (false, *stream_version),
                EventOutcome::Duplicate { stream_version, .. } => (true, *stream_version),
            })
            .collect();
        stored.push(StoredStream {
            stream: stream.to_string(),
            outcomes,
            events,
        });
    }
    Outcome::Stored(stored)
}

#[test]
fn every_backend_comes_to_the_same_outcome() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&appends(), |appends| {
        let outcomes = runtime.block_on(async {
            let memory = outcome(&MemoryStore::new(), appends.clone()).await;
            let sqlite = outcome(&SqliteStore::in_memory().await.unwrap(), appends.clone()).await;
            let (postgres_store, _schema) = TestSchema::store().await.unwrap();
            let postgres = outcome(&postgres_store, appends).await;
            BTreeMap::from([
                ("memory", memory),
                ("postgres", postgres),
                ("sqlite", sqlite),
            ])
        });
        let memory = &outcomes["memory"];
        for backend in ["sqlite", "postgres"] {
            prop_assert_eq!(
                &outcomes[backend],
                memory,
                "{} and memory disagree",
                backend
            );
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
