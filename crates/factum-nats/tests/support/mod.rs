//! What the relay tests share: concurrent writers, a stream and prefix of
//! each test's own, and the check that the stream holds the feed exactly
//! once and in order.

#![allow(dead_code)] // Each test file uses its own share of these.

use std::sync::Arc;
use std::time::Duration;

use factum_core::{
    EventData, EventStore, ExpectedVersion, GlobalPosition, RecordedEvent, StreamId,
};
use factum_nats::testing::unique_name;
use factum_nats::{Relay, RelayOptions, SubjectPrefix, envelope};

pub(crate) const WRITERS: u64 = 8;

/// `appends` appends of `per` events by each of 8 concurrent writers.
pub(crate) async fn write(store: Arc<dyn EventStore>, appends: u64, per: u64) {
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let stream = StreamId::new(format!("acct-{w}")).unwrap();
                for a in 0..appends {
                    let events = (0..per)
                        .map(|i| {
                            EventData::json(
                                "Deposited",
                                format!(r#"{{"w":{w},"a":{a},"i":{i}}}"#).into_bytes(),
                            )
                        })
                        .collect();
                    store
                        .append(&stream, ExpectedVersion::Any, events)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// Options for a stream and prefix of this test's own.
pub(crate) fn options() -> RelayOptions {
    let name = unique_name("RELAY").replace('-', "_");
    let prefix = SubjectPrefix::new(unique_name("r").replace('-', "_")).unwrap();
    RelayOptions::new(name)
        .with_prefix(prefix)
        .with_poll_interval(Duration::from_millis(20))
}

pub(crate) fn relay(
    store: &Arc<dyn EventStore>,
    client: &async_nats::Client,
    options: &RelayOptions,
) -> Relay<Arc<dyn EventStore>> {
    Relay::new(store.clone(), client.clone(), options.clone())
}

/// Waits until the stream holds the feed's head, then checks that it holds
/// the whole feed, once each, in order, and deletes the stream.
pub(crate) async fn assert_exactly_once(
    store: &Arc<dyn EventStore>,
    client: &async_nats::Client,
    options: &RelayOptions,
) {
    let head = store.head_position().await.unwrap().unwrap();
    let checker = relay(store, client, options);
    for _ in 0..3000 {
        if checker.published_up_to().await.ok().map(|(p, _)| p) == Some(head) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut feed: Vec<RecordedEvent> = Vec::new();
    let mut after = GlobalPosition::START;
    loop {
        let page = store.read_all(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        feed.extend(page);
    }
    let context = async_nats::jetstream::new(client.clone());
    let mut stream = context.get_stream(options.stream()).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    assert_eq!(last, feed.len() as u64, "one message per event of the feed");
    for (sequence, event) in (1..).zip(&feed) {
        let message = stream.get_raw_message(sequence).await.unwrap();
        let got =
            envelope::event_from_message(&message.subject, &message.headers, &message.payload)
                .unwrap();
        assert_eq!(&got, event, "message {sequence}");
    }
    context.delete_stream(options.stream()).await.unwrap();
}
