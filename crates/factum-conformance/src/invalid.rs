//! Guarantee 7 of `docs/design.md`: bad input gets a typed error and
//! changes nothing.

use super::support::{append_ok, event, events, stream, whole_feed};
use factum_core::{
    Error, EventData, EventStore, ExpectedVersion, InvalidAppend, MAX_EVENTS_PER_APPEND,
    StreamAppend, StreamId, StreamIdError,
};

/// Recognises the error one case expects.
type IsExpected = fn(&InvalidAppend) -> bool;

/// Every kind of invalid append fails with its own error, and the feed is
/// unchanged afterwards.
pub async fn invalid_appends_are_rejected_and_write_nothing(store: &dyn EventStore) {
    let s = stream("invalid-1");
    append_ok(store, &s, ExpectedVersion::NoStream, events(1, 1)).await;
    let feed = whole_feed(store, 100).await;

    let cases: Vec<(&str, Vec<StreamAppend>, IsExpected)> = vec![
        ("no streams", vec![], |e| {
            matches!(e, InvalidAppend::NoStreams)
        }),
        (
            "no events",
            vec![StreamAppend::new(s.clone(), ExpectedVersion::Any, vec![])],
            |e| matches!(e, InvalidAppend::NoEvents { .. }),
        ),
        (
            "stream named twice",
            vec![
                StreamAppend::new(s.clone(), ExpectedVersion::Any, events(1, 2)),
                StreamAppend::new(s.clone(), ExpectedVersion::Any, events(1, 3)),
            ],
            |e| matches!(e, InvalidAppend::StreamRepeated { .. }),
        ),
        (
            "key twice in one call",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![
                    event("A", 1).with_idempotency_key("k"),
                    event("A", 2).with_idempotency_key("k"),
                ],
            )],
            |e| matches!(e, InvalidAppend::IdempotencyKeyRepeated { key } if key == "k"),
        ),
        (
            "empty event type",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![event("", 1)],
            )],
            |e| matches!(e, InvalidAppend::EventType { .. }),
        ),
        (
            "empty idempotency key",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![event("A", 1).with_idempotency_key("")],
            )],
            |e| matches!(e, InvalidAppend::IdempotencyKey { .. }),
        ),
        (
            "payload that is not JSON",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![EventData::json("Broken", b"{not json".to_vec())],
            )],
            |e| matches!(e, InvalidAppend::PayloadNotJson { event_type, .. } if event_type == "Broken"),
        ),
        (
            "JSON holding NUL",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![EventData::json("Nul", br#"{"a":"\u0000"}"#.to_vec())],
            )],
            |e| matches!(e, InvalidAppend::PayloadNotJson { .. }),
        ),
        (
            "JSON with invalid UTF-8 inside a string",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![EventData::json(
                    "Latin1",
                    b"{\"name\":\"Jos\xe9\"}".to_vec(),
                )],
            )],
            |e| matches!(e, InvalidAppend::PayloadNotJson { event_type, .. } if event_type == "Latin1"),
        ),
        (
            "JSON with a lone surrogate",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![EventData::json("Half", br#"{"a":"\ud800"}"#.to_vec())],
            )],
            |e| matches!(e, InvalidAppend::PayloadNotJson { event_type, .. } if event_type == "Half"),
        ),
        (
            "idempotency key holding NUL",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![event("A", 1).with_idempotency_key("k\0")],
            )],
            |e| matches!(e, InvalidAppend::IdempotencyKey { .. }),
        ),
        (
            "metadata holding NUL",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                vec![
                    event("A", 1).with_metadata(
                        factum_core::Metadata::default().with_custom("tenant", "a\0b"),
                    ),
                ],
            )],
            |e| matches!(e, InvalidAppend::Metadata { field, .. } if field.contains("tenant")),
        ),
        (
            "too many events",
            vec![StreamAppend::new(
                s.clone(),
                ExpectedVersion::Any,
                events(MAX_EVENTS_PER_APPEND as u64 + 1, 0),
            )],
            |e| matches!(e, InvalidAppend::TooManyEvents { .. }),
        ),
    ];
    for (name, appends, is_expected) in cases {
        match store.append_many(appends).await {
            Err(Error::InvalidAppend(e)) => assert!(is_expected(&e), "{name}: wrong error {e}"),
            other => panic!("{name}: expected an invalid-append error, got {other:?}"),
        }
    }
    // An otherwise valid multi-stream call with one bad stream writes nothing.
    let err = store
        .append_many(vec![
            StreamAppend::new(stream("invalid-2"), ExpectedVersion::Any, events(1, 1)),
            StreamAppend::new(s.clone(), ExpectedVersion::Any, vec![event("", 1)]),
        ])
        .await;
    assert!(matches!(err, Err(Error::InvalidAppend(_))), "{err:?}");
    assert_eq!(
        whole_feed(store, 100).await,
        feed,
        "an invalid append changed the feed"
    );
    // An escaped backslash followed by `u0000` is no NUL: it is stored and
    // read back as written.
    let path = br#"{"path":"C:\\u0000dir"}"#;
    let written = append_ok(
        store,
        &stream("invalid-3"),
        ExpectedVersion::NoStream,
        vec![EventData::json("Path", path.to_vec())],
    )
    .await;
    assert_eq!(written.current_version, Some(1));
    let stored = store
        .read_stream(&stream("invalid-3"), factum_core::ReadOptions::all())
        .await
        .expect("read");
    let value: serde_json::Value = serde_json::from_slice(&stored[0].payload).expect("JSON");
    assert_eq!(value["path"], "C:\\u0000dir");
    assert!(matches!(
        StreamId::new("bad\u{7}id"),
        Err(StreamIdError::ControlCharacter { .. })
    ));
}
