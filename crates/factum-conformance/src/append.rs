//! Guarantees 1 to 3 of `docs/design.md`: atomic appends, optimistic
//! concurrency, contiguous versions and increasing positions.

use super::support::{
    append_ok, assert_increasing, event, events, same_payload, stream, versions, whole_feed,
};
use factum_core::{
    Error, EventOutcome, EventStore, ExpectedVersion, Metadata, ReadOptions, StreamAppend,
};

/// The first append creates the stream at version 1, and its results match
/// what is read back.
pub async fn append_creates_stream_at_version_one(store: &dyn EventStore) {
    let s = stream("fresh-1");
    assert_eq!(store.stream_version(&s).await.expect("version"), None);
    let result = append_ok(store, &s, ExpectedVersion::NoStream, events(3, 1)).await;
    assert_eq!(result.stream_id, s);
    assert_eq!(result.current_version, Some(3));
    assert_eq!(result.next_expected_version(), ExpectedVersion::Exact(3));
    let read = store
        .read_stream(&s, ReadOptions::all())
        .await
        .expect("read");
    assert_eq!(read.len(), 3);
    for (outcome, recorded) in result.events.iter().zip(&read) {
        assert_eq!(
            outcome,
            &EventOutcome::Written {
                stream_version: recorded.stream_version,
                position: recorded.position
            }
        );
    }
    assert_eq!(store.stream_version(&s).await.expect("version"), Some(3));
    assert_eq!(
        store.head_position().await.expect("head"),
        Some(read[2].position)
    );
}

/// `Any` appends to a missing and to an existing stream.
pub async fn expected_any_appends_whatever_the_state(store: &dyn EventStore) {
    let s = stream("any-1");
    append_ok(store, &s, ExpectedVersion::Any, events(1, 1)).await;
    let result = append_ok(store, &s, ExpectedVersion::Any, events(2, 2)).await;
    assert_eq!(result.current_version, Some(3));
    assert_eq!(versions(store, &s).await, vec![1, 2, 3]);
}

async fn expect_conflict(
    store: &dyn EventStore,
    s: &factum_core::StreamId,
    expected: ExpectedVersion,
    actual: Option<u64>,
) {
    let before = versions(store, s).await;
    match store.append(s, expected, events(1, 99)).await {
        Err(Error::VersionConflict {
            stream,
            expected: e,
            actual: a,
        }) => {
            assert_eq!(&stream, s);
            assert_eq!(e, expected);
            assert_eq!(a, actual, "conflict must report the actual version");
        }
        other => panic!("expected a version conflict on {s} with {expected}, got {other:?}"),
    }
    assert_eq!(
        versions(store, s).await,
        before,
        "a conflicting append wrote something"
    );
}

/// `NoStream` succeeds on a missing stream and fails on an existing one.
pub async fn expected_no_stream_succeeds_and_fails(store: &dyn EventStore) {
    let s = stream("nostream-1");
    append_ok(store, &s, ExpectedVersion::NoStream, events(2, 1)).await;
    expect_conflict(store, &s, ExpectedVersion::NoStream, Some(2)).await;
}

/// `StreamExists` fails on a missing stream and succeeds on an existing one.
pub async fn expected_stream_exists_succeeds_and_fails(store: &dyn EventStore) {
    let s = stream("exists-1");
    expect_conflict(store, &s, ExpectedVersion::StreamExists, None).await;
    assert_eq!(store.stream_version(&s).await.expect("version"), None);
    append_ok(store, &s, ExpectedVersion::Any, events(1, 1)).await;
    let result = append_ok(store, &s, ExpectedVersion::StreamExists, events(1, 2)).await;
    assert_eq!(result.current_version, Some(2));
}

/// `Exact` succeeds on the current version and fails on any other, including
/// on a missing stream.
pub async fn expected_exact_succeeds_and_fails(store: &dyn EventStore) {
    let s = stream("exact-1");
    expect_conflict(store, &s, ExpectedVersion::Exact(0), None).await;
    expect_conflict(store, &s, ExpectedVersion::Exact(1), None).await;
    append_ok(store, &s, ExpectedVersion::NoStream, events(2, 1)).await;
    expect_conflict(store, &s, ExpectedVersion::Exact(1), Some(2)).await;
    expect_conflict(store, &s, ExpectedVersion::Exact(3), Some(2)).await;
    let result = append_ok(store, &s, ExpectedVersion::Exact(2), events(1, 3)).await;
    assert_eq!(result.current_version, Some(3));
}

/// A conflict names the stream and both versions, and leaves the feed as it
/// was.
pub async fn conflict_reports_actual_version_and_writes_nothing(store: &dyn EventStore) {
    let s = stream("conflict-1");
    append_ok(store, &s, ExpectedVersion::NoStream, events(4, 1)).await;
    let head = store.head_position().await.expect("head");
    let err = store
        .append(&s, ExpectedVersion::Exact(2), events(1, 5))
        .await
        .expect_err("stale append must fail");
    let text = err.to_string();
    assert!(
        text.contains("conflict-1") && text.contains('2') && text.contains('4'),
        "error should name stream and versions: {text}"
    );
    assert_eq!(store.head_position().await.expect("head"), head);
}

/// One call appends to several streams; results come in the order given.
pub async fn multi_stream_append_writes_every_stream(store: &dyn EventStore) {
    let (a, b) = (stream("multi-a"), stream("multi-b"));
    append_ok(store, &b, ExpectedVersion::NoStream, events(1, 1)).await;
    let results = store
        .append_many(vec![
            StreamAppend::new(a.clone(), ExpectedVersion::NoStream, events(2, 1)),
            StreamAppend::new(b.clone(), ExpectedVersion::Exact(1), events(3, 2)),
        ])
        .await
        .expect("multi-stream append");
    assert_eq!(results.len(), 2);
    assert_eq!(
        (&results[0].stream_id, results[0].current_version),
        (&a, Some(2))
    );
    assert_eq!(
        (&results[1].stream_id, results[1].current_version),
        (&b, Some(4))
    );
    let positions: Vec<_> = results.iter().flat_map(|r| r.written_positions()).collect();
    assert_eq!(positions.len(), 5);
    assert_increasing(&positions, "one multi-stream append");
    assert_eq!(versions(store, &a).await, vec![1, 2]);
    assert_eq!(versions(store, &b).await, vec![1, 2, 3, 4]);
}

/// A conflict on stream B leaves stream A untouched (guarantee 1).
pub async fn multi_stream_append_is_atomic(store: &dyn EventStore) {
    let (a, b) = (stream("atomic-a"), stream("atomic-b"));
    append_ok(store, &a, ExpectedVersion::NoStream, events(1, 1)).await;
    append_ok(store, &b, ExpectedVersion::NoStream, events(2, 1)).await;
    let feed_before = whole_feed(store, 100).await;
    let err = store
        .append_many(vec![
            StreamAppend::new(a.clone(), ExpectedVersion::Exact(1), events(3, 2)),
            StreamAppend::new(b.clone(), ExpectedVersion::Exact(1), events(1, 3)),
        ])
        .await
        .expect_err("stale expectation on b must fail the call");
    assert!(
        matches!(&err, Error::VersionConflict { stream, actual: Some(2), .. } if stream == &b),
        "conflict must name stream b: {err}"
    );
    assert_eq!(
        versions(store, &a).await,
        vec![1],
        "stream a was written despite the conflict"
    );
    assert_eq!(whole_feed(store, 100).await, feed_before);
}

/// Versions run 1, 2, 3... with no gap, and positions strictly increase in
/// the feed, across many appends to interleaved streams.
pub async fn versions_are_contiguous_and_positions_increase(store: &dyn EventStore) {
    let names = [stream("contig-a"), stream("contig-b"), stream("contig-c")];
    for round in 0..10u64 {
        for (i, s) in names.iter().enumerate() {
            let count = 1 + (round + i as u64) % 3;
            append_ok(store, s, ExpectedVersion::Any, events(count, round * 10)).await;
        }
    }
    for s in &names {
        let v = versions(store, s).await;
        let expected: Vec<u64> = (1..=v.len() as u64).collect();
        assert_eq!(v, expected, "versions of {s} are not contiguous");
    }
    let feed = whole_feed(store, 7).await;
    assert_eq!(feed.len(), 60);
    let positions: Vec<_> = feed.iter().map(|e| e.position).collect();
    assert_increasing(&positions, "global feed");
}

/// Everything written comes back: ids, types, schema versions, payloads,
/// metadata and idempotency keys.
pub async fn events_round_trip_with_metadata(store: &dyn EventStore) {
    let s = stream("roundtrip-1");
    let metadata = Metadata::default()
        .with_correlation_id("Flow-1")
        .with_causation_id("cmd-9")
        .with_actor("alice")
        .with_custom("tenant", "t1")
        .with_custom("ip", "127.0.0.1");
    let written = vec![
        event("Opened", 1)
            .with_metadata(metadata)
            .with_schema_version(3),
        event("Renamed", 2).with_idempotency_key("roundtrip-key"),
        factum_core::EventData::new(
            "Packed",
            factum_core::PayloadFormat::MessagePack,
            vec![0x81, 0xa1, b'n', 0x07],
        ),
    ];
    append_ok(store, &s, ExpectedVersion::NoStream, written.clone()).await;
    let read = store
        .read_stream(&s, ReadOptions::all())
        .await
        .expect("read");
    assert_eq!(read.len(), written.len());
    for (r, w) in read.iter().zip(&written) {
        assert_eq!(r.event_id, w.event_id);
        assert_eq!(r.stream_id, s);
        assert_eq!(r.event_type, w.event_type);
        assert_eq!(r.schema_version, w.schema_version);
        assert!(same_payload(r, w), "payload of {} changed", w.event_type);
        assert_eq!(r.metadata, w.metadata);
        assert_eq!(r.idempotency_key, w.idempotency_key);
    }
    let feed = whole_feed(store, 10).await;
    assert_eq!(feed, read, "the feed and the stream disagree");
    let age = chrono::Utc::now() - read[0].recorded_at;
    assert!(
        age.num_minutes().abs() < 5,
        "recorded_at is not now: {}",
        read[0].recorded_at
    );
}
