//! Reading streams (ranges, limits, direction, laziness) and paging the
//! global feed.

use factum_core::Direction;
use futures::TryStreamExt;

use super::support::{append_ok, assert_increasing, events, stream, whole_feed};
use factum_core::{
    EventData, EventStore, ExpectedVersion, GlobalPosition, PayloadFormat, ReadOptions,
    RecordedPayload,
};

/// Ranges, limits and direction select exactly the expected versions.
pub async fn read_options_select_ranges(store: &dyn EventStore) {
    let s = stream("range-1");
    append_ok(store, &s, ExpectedVersion::NoStream, events(10, 1)).await;
    let cases: Vec<(ReadOptions, Vec<u64>)> = vec![
        (ReadOptions::all(), (1..=10).collect()),
        (ReadOptions::all().with_from_version(4), (4..=10).collect()),
        (ReadOptions::all().with_to_version(3), vec![1, 2, 3]),
        (
            ReadOptions::all().with_from_version(3).with_to_version(5),
            vec![3, 4, 5],
        ),
        (ReadOptions::all().with_limit(4), vec![1, 2, 3, 4]),
        (
            ReadOptions::all().with_from_version(8).with_limit(5),
            vec![8, 9, 10],
        ),
        (
            ReadOptions::all().with_direction(Direction::Backward),
            (1..=10).rev().collect(),
        ),
        (
            ReadOptions::all()
                .with_direction(Direction::Backward)
                .with_limit(3),
            vec![10, 9, 8],
        ),
        (
            ReadOptions::all()
                .with_direction(Direction::Backward)
                .with_to_version(4)
                .with_limit(2),
            vec![4, 3],
        ),
        (
            ReadOptions::all()
                .with_direction(Direction::Backward)
                .with_from_version(9),
            vec![10, 9],
        ),
        (
            ReadOptions::all().with_from_version(0).with_to_version(2),
            vec![1, 2],
        ),
        (ReadOptions::all().with_from_version(11), vec![]),
        (
            ReadOptions::all().with_from_version(6).with_to_version(5),
            vec![],
        ),
        (ReadOptions::all().with_limit(0), vec![]),
        (
            ReadOptions::all().with_to_version(u64::MAX),
            (1..=10).collect(),
        ),
    ];
    for (options, expected) in cases {
        let got: Vec<u64> = store
            .read_stream(&s, options)
            .await
            .expect("read")
            .iter()
            .map(|e| e.stream_version)
            .collect();
        assert_eq!(got, expected, "reading with {options:?}");
        let lazy: Vec<u64> = store
            .read_stream_events(&s, options)
            .map_ok(|e| e.stream_version)
            .try_collect()
            .await
            .expect("lazy read");
        assert_eq!(lazy, expected, "lazily reading with {options:?}");
    }
}

/// A stream that does not exist reads as empty and has no version.
pub async fn missing_stream_reads_empty(store: &dyn EventStore) {
    let s = stream("never-written");
    append_ok(
        store,
        &stream("other-stream"),
        ExpectedVersion::Any,
        events(2, 1),
    )
    .await;
    assert!(
        store
            .read_stream(&s, ReadOptions::all())
            .await
            .expect("read")
            .is_empty()
    );
    assert!(
        store
            .read_stream(&s, ReadOptions::all().with_direction(Direction::Backward))
            .await
            .expect("read")
            .is_empty()
    );
    assert_eq!(store.stream_version(&s).await.expect("version"), None);
}

/// The lazy read of a stream longer than any page yields every event once,
/// in order, both ways, and honours a limit that cuts a page.
pub async fn lazy_read_covers_long_streams(store: &dyn EventStore) {
    let s = stream("long-1");
    for chunk in 0..5 {
        append_ok(store, &s, ExpectedVersion::Any, events(500, chunk * 500)).await;
    }
    let forward: Vec<u64> = store
        .read_stream_events(&s, ReadOptions::all())
        .map_ok(|e| e.stream_version)
        .try_collect()
        .await
        .expect("lazy read");
    assert_eq!(forward, (1..=2500).collect::<Vec<_>>());
    let backward: Vec<u64> = store
        .read_stream_events(
            &s,
            ReadOptions::all()
                .with_direction(Direction::Backward)
                .with_limit(1300),
        )
        .map_ok(|e| e.stream_version)
        .try_collect()
        .await
        .expect("lazy read");
    assert_eq!(backward, (1201..=2500).rev().collect::<Vec<_>>());
    // Bounds that end one short of a page boundary, for page-wise backends.
    for (options, expected) in [
        (
            ReadOptions::all().with_to_version(1025),
            (1..=1025).collect::<Vec<u64>>(),
        ),
        (
            ReadOptions::all()
                .with_to_version(1025)
                .with_from_version(2),
            (2..=1025).collect(),
        ),
        (
            ReadOptions::all()
                .with_direction(Direction::Backward)
                .with_from_version(1476),
            (1476..=2500).rev().collect(),
        ),
        (
            ReadOptions::all()
                .with_direction(Direction::Backward)
                .with_from_version(2),
            (2..=2500).rev().collect(),
        ),
        (
            ReadOptions::all().with_direction(Direction::Backward),
            (1..=2500).rev().collect(),
        ),
    ] {
        let got: Vec<u64> = store
            .read_stream_events(&s, options)
            .map_ok(|e| e.stream_version)
            .try_collect()
            .await
            .expect("lazy read");
        assert_eq!(got, expected, "lazily reading with {options:?}");
    }
}

/// A payload read yields exactly what a whole-event read of the same
/// options holds of each event (version, type, schema version, format,
/// payload), across pages, in both directions, for JSON and MessagePack.
pub async fn payload_reads_match_event_reads(store: &dyn EventStore) {
    let s = stream("payloads-1");
    let mixed: Vec<EventData> = (0..600)
        .map(|n| match n % 7 {
            // A MessagePack map {"n": n} under a later schema version.
            3 => EventData::new(
                "Packed",
                PayloadFormat::MessagePack,
                vec![0x81, 0xa1, b'n', (n % 128) as u8],
            )
            .with_schema_version(3),
            _ => events(1, n).remove(0),
        })
        .collect();
    append_ok(store, &s, ExpectedVersion::NoStream, mixed).await;
    for options in [
        ReadOptions::all(),
        ReadOptions::all()
            .with_from_version(510)
            .with_to_version(530),
        ReadOptions::all().with_limit(520),
        ReadOptions::all().with_direction(Direction::Backward),
        ReadOptions::all()
            .with_direction(Direction::Backward)
            .with_to_version(590)
            .with_limit(530),
        ReadOptions::all().with_from_version(601),
    ] {
        let events: Vec<RecordedPayload> = store
            .read_stream_events(&s, options)
            .map_ok(RecordedPayload::from)
            .try_collect()
            .await
            .expect("event read");
        let payloads: Vec<RecordedPayload> = store
            .read_stream_payloads(&s, options)
            .try_collect()
            .await
            .expect("payload read");
        assert_eq!(payloads, events, "reading payloads with {options:?}");
    }
    let packed = store
        .read_stream_payloads(&s, ReadOptions::all().with_from_version(4).with_limit(1))
        .try_collect::<Vec<_>>()
        .await
        .expect("payload read");
    assert_eq!(
        (
            packed[0].format,
            packed[0].schema_version,
            packed[0].event_type.as_str()
        ),
        (PayloadFormat::MessagePack, 3, "Packed"),
    );
    let missing: Vec<RecordedPayload> = store
        .read_stream_payloads(&stream("payloads-missing"), ReadOptions::all())
        .try_collect()
        .await
        .expect("payload read");
    assert!(missing.is_empty());
}

/// Paging the feed with a small limit returns every event once, in
/// position order, and reading after the head returns nothing.
pub async fn global_feed_pages_in_order(store: &dyn EventStore) {
    assert_eq!(store.head_position().await.expect("head"), None);
    assert!(
        store
            .read_all(GlobalPosition::START, 10)
            .await
            .expect("feed")
            .is_empty()
    );
    let (a, b) = (stream("feed-a"), stream("feed-b"));
    let mut expected = Vec::new();
    for round in 0..8u64 {
        let s = if round % 2 == 0 { &a } else { &b };
        let result = append_ok(
            store,
            s,
            ExpectedVersion::Any,
            events(1 + round % 3, round * 10),
        )
        .await;
        expected.extend(result.written_positions());
    }
    for page in [1, 3, 7, 100] {
        let feed = whole_feed(store, page).await;
        let positions: Vec<_> = feed.iter().map(|e| e.position).collect();
        assert_eq!(positions, expected, "paging by {page}");
    }
    let head = *expected.last().expect("events were written");
    assert_eq!(store.head_position().await.expect("head"), Some(head));
    assert!(store.read_all(head, 10).await.expect("feed").is_empty());
    let middle = expected[4];
    let rest = store.read_all(middle, 100).await.expect("feed");
    assert_eq!(
        rest.first().map(|e| e.position),
        Some(expected[5]),
        "read_all(after) must exclude `after`"
    );
    assert_increasing(&expected, "appends in sequence");
    assert!(
        store
            .read_all(GlobalPosition::START, 0)
            .await
            .expect("feed")
            .is_empty()
    );
}
