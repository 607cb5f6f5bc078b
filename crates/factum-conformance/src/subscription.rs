//! Subscriptions: catch-up then live, in order, nothing skipped or repeated.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::support::{append_ok, event, events, stream, whole_feed};
use factum_core::{
    EventFilter, EventStore, ExpectedVersion, RecordedEvent, Subscribe, SubscriptionOptions,
};

const WRITERS: u64 = 4;
const APPENDS_PER_WRITER: u64 = 25;

/// Takes `count` events from a subscription, failing after 30 s.
async fn take(
    events: &mut (impl futures::Stream<Item = factum_core::Result<RecordedEvent>> + Unpin),
    count: usize,
) -> Vec<RecordedEvent> {
    let mut taken = Vec::with_capacity(count);
    while taken.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "subscription stalled after {} of {count} events",
                    taken.len()
                )
            });
        taken.push(
            next.expect("subscriptions never end")
                .expect("subscription read"),
        );
    }
    taken
}

/// A subscription from the start delivers the history, then what
/// concurrent writers commit, each event once and in feed order, across the
/// switch from catch-up to live.
pub async fn subscription_catches_up_then_follows_live(store: &Arc<dyn EventStore>) {
    append_ok(
        &**store,
        &stream("sub-history"),
        ExpectedVersion::NoStream,
        events(30, 1),
    )
    .await;
    let options = SubscriptionOptions::from_start()
        .with_batch_size(7)
        .with_poll_interval(Duration::from_millis(20));
    let mut subscription = store.subscribe(options);
    let history = take(&mut subscription, 30).await;
    assert_eq!(
        history.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let s = stream(&format!("sub-live-{w}"));
                for i in 0..APPENDS_PER_WRITER {
                    store
                        .append(&s, ExpectedVersion::Any, vec![event("Live", w * 100 + i)])
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    let live = take(&mut subscription, (WRITERS * APPENDS_PER_WRITER) as usize).await;
    for writer in writers {
        writer.await.expect("writer finished");
    }
    let delivered: Vec<_> = history.iter().chain(&live).map(|e| e.position).collect();
    let feed: Vec<_> = whole_feed(&**store, 100)
        .await
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(
        delivered, feed,
        "the subscription must deliver the feed exactly, in order"
    );
    let extra = tokio::time::timeout(Duration::from_millis(100), subscription.next()).await;
    assert!(extra.is_err(), "nothing more may be delivered: {extra:?}");
}

/// A subscription after a position starts right after it; filters by
/// category and event type let only matching events through.
pub async fn subscription_starts_after_position_and_filters(store: &dyn EventStore) {
    let first = append_ok(
        store,
        &stream("order-1"),
        ExpectedVersion::NoStream,
        vec![event("Placed", 1), event("Paid", 2)],
    )
    .await;
    append_ok(
        store,
        &stream("invoice-1"),
        ExpectedVersion::NoStream,
        vec![event("Placed", 3)],
    )
    .await;
    append_ok(
        store,
        &stream("order-2"),
        ExpectedVersion::NoStream,
        vec![event("Placed", 4)],
    )
    .await;
    let after_first = first.events[0].position();

    let mut rest = store.subscribe(SubscriptionOptions::from_start().with_after(after_first));
    let got = take(&mut rest, 3).await;
    assert_eq!(
        got.iter().map(|e| e.stream_id.as_str()).collect::<Vec<_>>(),
        ["order-1", "invoice-1", "order-2"]
    );
    assert_eq!(got[0].event_type, "Paid");

    let filter = EventFilter::all()
        .categories(["order"])
        .event_types(["Placed"]);
    let mut placed_orders = store.subscribe(
        SubscriptionOptions::from_start()
            .with_filter(filter)
            .with_batch_size(1),
    );
    let got = take(&mut placed_orders, 2).await;
    assert_eq!(
        got.iter().map(|e| e.stream_id.as_str()).collect::<Vec<_>>(),
        ["order-1", "order-2"]
    );
    assert!(got.iter().all(|e| e.event_type == "Placed"));
}
