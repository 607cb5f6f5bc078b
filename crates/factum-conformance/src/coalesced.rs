//! Appends sent together: a store may commit concurrent appends in shared
//! transactions, but each keeps the outcome it would have alone (a
//! conflict, a duplicate, a failed condition or bad input fails that
//! append only), its atomicity, and the feed's guarantees.

use std::collections::BTreeMap;

use futures::future::{BoxFuture, join_all};

use super::support::{assert_increasing, event, stream, versions, whole_feed};
use factum_core::{
    AppendCondition, AppendResult, Error, EventOutcome, EventQuery, EventStore, ExpectedVersion,
    QueryItem, Result, StreamAppend, Tag,
};

/// Independent appends, all in flight at once (polled together, so that a
/// store that coalesces takes them into few batches): pairs that race for
/// one stream, one idempotency key and one condition, a multi-stream append
/// that conflicts on one stream, bad input, and plain appends. Each gets
/// the outcome it would get alone, and the feed holds exactly what
/// succeeded, in order, with contiguous versions.
pub async fn appends_sent_together_keep_their_own_outcomes(store: &dyn EventStore) {
    let one = |name: &str, expected, kind: &str, n| {
        vec![StreamAppend::new(
            stream(name),
            expected,
            vec![event(kind, n)],
        )]
    };
    let keyed = |name: &str, n| {
        let event = event("CoPaid", n).with_idempotency_key("co-key");
        vec![StreamAppend::new(
            stream(name),
            ExpectedVersion::Any,
            vec![event],
        )]
    };
    let seat = Tag::new("co-seat-1").expect("a valid tag");
    let claim = |name: &str, n| {
        let event = event("CoClaimed", n).with_tag(seat.clone());
        vec![StreamAppend::new(
            stream(name),
            ExpectedVersion::Any,
            vec![event],
        )]
    };
    let claimed = AppendCondition::none_match(
        EventQuery::new().or(QueryItem::types(["CoClaimed"]).with_tag(seat.clone())),
    );
    let atomic = vec![
        StreamAppend::new(
            stream("co-f"),
            ExpectedVersion::NoStream,
            vec![event("CoX", 1)],
        ),
        StreamAppend::new(
            stream("co-a"),
            ExpectedVersion::Exact(99),
            vec![event("CoX", 2)],
        ),
    ];
    let empty = vec![StreamAppend::new(
        stream("co-h"),
        ExpectedVersion::Any,
        vec![],
    )];

    let mut calls: Vec<BoxFuture<'_, Result<Vec<AppendResult>>>> = vec![
        store.append_many(one("co-a", ExpectedVersion::NoStream, "CoOpened", 1)),
        store.append_many(one("co-a", ExpectedVersion::NoStream, "CoOpened", 2)),
        store.append_many(keyed("co-b", 3)),
        store.append_many(keyed("co-c", 4)),
        store.append_if(claim("co-d", 5), claimed.clone()),
        store.append_if(claim("co-e", 6), claimed.clone()),
        store.append_many(atomic),
        store.append_many(empty),
    ];
    for i in 0..20 {
        calls.push(store.append_many(one(&format!("co-g-{i}"), ExpectedVersion::Any, "CoG", i)));
    }
    let outcomes = join_all(calls).await;

    // Of two appends expecting no stream co-a, one writes and one conflicts.
    let opened: Vec<_> = outcomes[0..2].iter().filter(|o| o.is_ok()).collect();
    assert_eq!(
        opened.len(),
        1,
        "one of the two opens co-a: {:?}",
        &outcomes[0..2]
    );
    let lost = outcomes[0..2].iter().find_map(|o| o.as_ref().err());
    assert!(
        matches!(lost, Some(Error::VersionConflict { stream, expected: ExpectedVersion::NoStream, actual: Some(1) }) if stream.as_str() == "co-a"),
        "the other conflicts on co-a at version 1: {lost:?}"
    );

    // Of two events with one key, one is written and one is its duplicate.
    let keyed: Vec<&AppendResult> = outcomes[2..4]
        .iter()
        .map(|o| o.as_ref().expect("a keyed append succeeds"))
        .map(|results| &results[0])
        .collect();
    let written: Vec<_> = keyed.iter().filter(|r| !r.is_duplicate()).collect();
    assert_eq!(
        written.len(),
        1,
        "one of the keyed events is written: {keyed:?}"
    );
    let (original, duplicate) = match keyed[0].is_duplicate() {
        false => (keyed[0], keyed[1]),
        true => (keyed[1], keyed[0]),
    };
    let EventOutcome::Written { position, .. } = original.events[0] else {
        panic!("the original is written: {original:?}");
    };
    assert!(
        matches!(&duplicate.events[0], EventOutcome::Duplicate { stream_id, stream_version: 1, position: p } if *stream_id == original.stream_id && *p == position),
        "the other points at it: {duplicate:?}"
    );

    // Of two claims of one seat under the same condition, one succeeds.
    let claims = &outcomes[4..6];
    assert_eq!(claims.iter().filter(|o| o.is_ok()).count(), 1, "{claims:?}");
    let refused = claims.iter().find_map(|o| o.as_ref().err());
    assert!(
        refused.is_some_and(Error::is_condition_failed),
        "the other claim fails its condition: {refused:?}"
    );

    // The multi-stream append conflicts on co-a and writes nothing at all.
    assert!(
        matches!(&outcomes[6], Err(Error::VersionConflict { stream, expected: ExpectedVersion::Exact(99), .. }) if stream.as_str() == "co-a"),
        "{:?}",
        outcomes[6]
    );
    assert!(
        versions(store, &stream("co-f")).await.is_empty(),
        "co-f stays missing"
    );

    // Bad input fails alone.
    assert!(
        matches!(outcomes[7], Err(Error::InvalidAppend(_))),
        "{:?}",
        outcomes[7]
    );

    // Every plain append writes version 1 of its stream.
    for (i, outcome) in outcomes[8..].iter().enumerate() {
        let result = &outcome.as_ref().expect("a plain append succeeds")[0];
        assert_eq!(result.current_version, Some(1), "co-g-{i}");
    }

    // The feed holds exactly what succeeded: 1 + 1 + 1 + 20 events, in
    // increasing positions, each stream's versions contiguous.
    let feed: Vec<_> = whole_feed(store, 100)
        .await
        .into_iter()
        .filter(|e| e.stream_id.as_str().starts_with("co-"))
        .collect();
    assert_eq!(feed.len(), 23, "{feed:#?}");
    let positions: Vec<_> = feed.iter().map(|e| e.position).collect();
    assert_increasing(&positions, "the feed after appends sent together");
    let mut per_stream: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for event in &feed {
        per_stream
            .entry(event.stream_id.as_str())
            .or_default()
            .push(event.stream_version);
    }
    assert!(
        per_stream.values().all(|v| *v == [1]),
        "one event per stream: {per_stream:?}"
    );
}
