//! A [`TracingStore`] hands on its store's feed signal, so a subscription
//! through it wakes when an event is committed, not at its next poll.

use std::time::Duration;

use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, StreamId, Subscribe,
    SubscriptionOptions, TracingStore,
};
use factum_memory::MemoryStore;
use futures::StreamExt;

/// So long that a subscription that only polls never sees the event in time.
const POLL_INTERVAL: Duration = Duration::from_secs(3600);
/// A generous bound for a wake-up by the signal, on a loaded machine.
const WAKE_UP: Duration = Duration::from_secs(5);

#[test]
fn a_traced_store_has_its_stores_feed_signal() {
    let traced = TracingStore::new(MemoryStore::new());
    assert!(traced.feed_signal().is_some());
}

#[tokio::test]
async fn a_subscription_through_a_traced_store_wakes_on_the_feed_signal() {
    let store = TracingStore::new(MemoryStore::new());
    let options = SubscriptionOptions::from_start().with_poll_interval(POLL_INTERVAL);
    let mut subscription = store.subscribe(options);

    // The subscription reads the empty feed and waits: for the signal, or
    // an hour. (Dropping `next()` keeps the subscription's own state.)
    let nothing = tokio::time::timeout(Duration::from_millis(100), subscription.next()).await;
    assert!(nothing.is_err(), "an empty feed delivers nothing");

    let stream = StreamId::new("traced-1").expect("a valid stream id");
    let event = EventData::json("Committed", b"{}".to_vec());
    store
        .append(&stream, ExpectedVersion::NoStream, vec![event])
        .await
        .expect("append");

    let delivered = tokio::time::timeout(WAKE_UP, subscription.next())
        .await
        .unwrap_or_else(|_| {
            panic!("the subscription did not wake within {WAKE_UP:?}: it only polls (every {POLL_INTERVAL:?})")
        })
        .expect("subscriptions never end")
        .expect("a subscription read");
    assert_eq!(delivered.event_type, "Committed");
    assert_eq!(delivered.stream_id, stream);
}
