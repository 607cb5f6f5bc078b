//! Guarantee 4 of `docs/design.md`: an event whose idempotency key is
//! stored is not written again, and the caller learns where the original
//! is.

use super::support::{append_ok, event, stream, versions, whole_feed};
use factum_core::{AppendResult, Error, EventOutcome, EventStore, ExpectedVersion, StreamAppend};

/// The same key appended again is a duplicate naming the original.
pub async fn duplicate_key_is_not_written_again(store: &dyn EventStore) {
    let s = stream("idem-1");
    let first = append_ok(
        store,
        &s,
        ExpectedVersion::Any,
        vec![event("Paid", 1).with_idempotency_key("pay-1")],
    )
    .await;
    let again = append_ok(
        store,
        &s,
        ExpectedVersion::Any,
        vec![event("Paid", 1).with_idempotency_key("pay-1")],
    )
    .await;
    let EventOutcome::Written { position, .. } = first.events[0] else {
        panic!("the first append must write: {first:?}");
    };
    assert_eq!(
        again.events,
        vec![EventOutcome::Duplicate {
            stream_id: s.clone(),
            stream_version: 1,
            position
        }]
    );
    assert!(again.is_duplicate());
    assert_eq!(again.current_version, Some(1));
    assert_eq!(versions(store, &s).await, vec![1]);
}

/// Keys are global: a key stored in stream A makes an append to B a
/// duplicate pointing at A, and B stays missing.
pub async fn duplicate_key_in_other_stream_points_at_original(store: &dyn EventStore) {
    let (a, b) = (stream("idem-a"), stream("idem-b"));
    append_ok(
        store,
        &a,
        ExpectedVersion::NoStream,
        vec![
            event("X", 1),
            event("X", 2).with_idempotency_key("global-key"),
        ],
    )
    .await;
    let result = append_ok(
        store,
        &b,
        ExpectedVersion::NoStream,
        vec![event("X", 3).with_idempotency_key("global-key")],
    )
    .await;
    match &result.events[0] {
        EventOutcome::Duplicate {
            stream_id,
            stream_version,
            ..
        } => assert_eq!((stream_id, *stream_version), (&a, 2)),
        other => panic!("expected a duplicate of idem-a@2, got {other:?}"),
    }
    assert_eq!(result.current_version, None);
    assert_eq!(store.stream_version(&b).await.expect("version"), None);
}

/// A retry of an append that already succeeded (same keys, now stale
/// expected version) reports duplicates instead of a conflict.
pub async fn retry_with_stale_version_reports_duplicate(store: &dyn EventStore) {
    let s = stream("idem-retry");
    let batch = vec![
        event("A", 1).with_idempotency_key("retry-a"),
        event("B", 2).with_idempotency_key("retry-b"),
    ];
    let first = append_ok(store, &s, ExpectedVersion::NoStream, batch.clone()).await;
    let retry = append_ok(store, &s, ExpectedVersion::NoStream, batch).await;
    assert!(retry.is_duplicate(), "retry must be a duplicate: {retry:?}");
    let original: Vec<_> = first.events.iter().map(EventOutcome::position).collect();
    let reported: Vec<_> = retry.events.iter().map(EventOutcome::position).collect();
    assert_eq!(original, reported);
    assert_eq!(whole_feed(store, 10).await.len(), 2);
}

/// A batch mixing a stored key with new events, when it allows that
/// (`skipping_duplicates`), writes only the new ones, and checks the
/// expected version because something is written.
pub async fn skipping_duplicates_writes_only_new_events(store: &dyn EventStore) {
    let s = stream("idem-mixed");
    append_ok(
        store,
        &s,
        ExpectedVersion::NoStream,
        vec![event("A", 1).with_idempotency_key("mixed-a")],
    )
    .await;
    let skipping = |expected, events| {
        vec![StreamAppend::new(s.clone(), expected, events).skipping_duplicates()]
    };
    let stale = store
        .append_many(skipping(
            ExpectedVersion::NoStream,
            vec![event("A", 1).with_idempotency_key("mixed-a"), event("B", 2)],
        ))
        .await;
    assert!(
        stale.as_ref().is_err_and(|e| e.is_version_conflict()),
        "a batch that writes must check its expected version: {stale:?}"
    );
    let results = store
        .append_many(skipping(
            ExpectedVersion::Exact(1),
            vec![
                event("A", 1).with_idempotency_key("mixed-a"),
                event("B", 2).with_idempotency_key("mixed-b"),
                event("C", 3),
            ],
        ))
        .await
        .expect("a batch that skips duplicates appends");
    let result = &results[0];
    assert!(result.events[0].is_duplicate());
    assert!(matches!(
        result.events[1],
        EventOutcome::Written {
            stream_version: 2,
            ..
        }
    ));
    assert!(matches!(
        result.events[2],
        EventOutcome::Written {
            stream_version: 3,
            ..
        }
    ));
    assert_eq!(result.current_version, Some(3));
    let types: Vec<_> = store
        .read_stream(&s, factum_core::ReadOptions::all())
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["A", "B", "C"]);
}

/// A transfer reuses the key of an earlier transfer's debit by mistake,
/// with a new credit: the call mixes a stored event with a new one and is
/// refused, naming the stored key and the stream that would have been
/// credited; nothing is written. So is a mix within one stream, and a
/// call in which only one append allows skipping. A retry of the whole
/// earlier transfer is all duplicates and still reported as such.
pub async fn mixing_stored_and_new_events_is_refused(store: &dyn EventStore) {
    let (from, to) = (stream("idem-acct-a"), stream("idem-acct-b"));
    let transfer = |debit: &str, credit: &str| {
        vec![
            StreamAppend::new(
                from.clone(),
                ExpectedVersion::Any,
                vec![event("Debited", 10).with_idempotency_key(debit)],
            ),
            StreamAppend::new(
                to.clone(),
                ExpectedVersion::Any,
                vec![event("Credited", 10).with_idempotency_key(credit)],
            ),
        ]
    };
    store
        .append_many(transfer("t1-debit", "t1-credit"))
        .await
        .expect("the first transfer");
    let before = whole_feed(store, 10).await.len();

    let refused = store.append_many(transfer("t1-debit", "t2-credit")).await;
    match &refused {
        Err(Error::MixedDuplicates {
            duplicate_keys,
            new_in,
        }) => {
            assert_eq!(duplicate_keys, &["t1-debit".to_owned()]);
            assert_eq!(new_in, std::slice::from_ref(&to));
        }
        other => panic!("a half-duplicate transfer was not refused: {other:?}"),
    }
    let text = refused.expect_err("refused").to_string();
    assert!(
        text.contains("t1-debit") && text.contains("idem-acct-b"),
        "{text}"
    );
    assert_eq!(store.stream_version(&to).await.expect("version"), Some(1));

    let one_stream = store
        .append(
            &from,
            ExpectedVersion::Any,
            vec![
                event("Debited", 10).with_idempotency_key("t1-debit"),
                event("Noted", 0),
            ],
        )
        .await;
    assert!(
        matches!(one_stream, Err(Error::MixedDuplicates { .. })),
        "{one_stream:?}"
    );
    let mut half = transfer("t1-debit", "t3-credit");
    half[1] = half[1].clone().skipping_duplicates();
    let half = store.append_many(half).await;
    assert!(
        matches!(half, Err(Error::MixedDuplicates { .. })),
        "{half:?}"
    );
    assert_eq!(
        whole_feed(store, 10).await.len(),
        before,
        "a refused call wrote"
    );

    let retry = store
        .append_many(transfer("t1-debit", "t1-credit"))
        .await
        .expect("a retry of the whole transfer");
    assert!(retry.iter().all(AppendResult::is_duplicate));
    assert_eq!(whole_feed(store, 10).await.len(), before);
}
