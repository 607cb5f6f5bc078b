//! The consumer side: a projection fed from JetStream, on a "machine"
//! with no access to the store, reaches the same read model as the same
//! projection fed from the database by a `ProjectionRunner`; a feed
//! reopened under the same durable name goes on after what it
//! acknowledged; a failing handler's event is given back and delivered
//! again, in order. Uses `NATS_URL`, or a throwaway `nats-server -js`.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use factum_core::{
    BoxError, EventData, EventStore, ExpectedVersion, GlobalPosition, Projection, ProjectionRunner,
    RecordedEvent, StreamId,
};
use factum_nats::testing::{NatsServer, unique_name};
use factum_nats::{JetStreamFeed, NatsError, Relay, RelayOptions, SubjectPrefix};

/// Per stream: how many events and the sum of their payloads' `n`, and
/// the last position handled; fails once on the event whose `n` is
/// `fail_on`, when set.
#[derive(Default)]
struct Totals {
    totals: BTreeMap<String, (u64, i64)>,
    last: Option<GlobalPosition>,
    fail_on: Option<i64>,
}

#[async_trait]
impl Projection for Totals {
    fn name(&self) -> &str {
        "totals"
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        let value: serde_json::Value = serde_json::from_slice(&event.payload)?;
        let n = value["n"].as_i64().ok_or("no n")?;
        if self.fail_on.take_if(|f| *f == n).is_some() {
            return Err(format!("refusing {n} once").into());
        }
        if self.last >= Some(event.position) {
            return Err(format!(
                "out of feed order: {} after {:?}",
                event.position, self.last
            )
            .into());
        }
        let total = self.totals.entry(event.stream_id.to_string()).or_default();
        total.0 += 1;
        total.1 += n;
        self.last = Some(event.position);
        Ok(())
    }
}

async fn write(store: &Arc<dyn EventStore>, from: i64, to: i64) {
    for n in from..to {
        let stream = StreamId::new(format!("acct-{}", n % 7)).unwrap();
        let event = EventData::json("Deposited", format!(r#"{{"n":{n}}}"#).into_bytes());
        store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .await
            .unwrap();
    }
}

fn handled(totals: &Totals) -> u64 {
    totals.totals.values().map(|t| t.0).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_fed_from_jetstream_matches_one_fed_from_the_database() {
    let server = NatsServer::start().await.unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let store: Arc<dyn EventStore> = Arc::new(factum_memory::MemoryStore::new());
    let options = RelayOptions::new(unique_name("FEED").replace('-', "_"))
        .with_prefix(SubjectPrefix::new(unique_name("f").replace('-', "_")).unwrap());
    let relay = Relay::new(store.clone(), client.clone(), options.clone());
    relay.ensure_stream().await.unwrap();

    write(&store, 0, 300).await;
    relay.catch_up().await.unwrap();
    let feed = JetStreamFeed::durable(client.clone(), options.stream(), "totals")
        .await
        .unwrap();
    let mut remote = Totals {
        fail_on: Some(150),
        ..Totals::default()
    };
    let failed = feed.catch_up(&mut remote).await;
    assert!(
        matches!(failed, Err(NatsError::Handler { .. })),
        "{:?}",
        failed.err()
    );
    assert_eq!(handled(&remote), 150, "stopped at the failing event");

    // More events, and a new feed under the same name: it goes on after
    // what was acknowledged, the failed event first.
    write(&store, 300, 500).await;
    relay.catch_up().await.unwrap();
    drop(feed);
    let feed = JetStreamFeed::durable(client.clone(), options.stream(), "totals")
        .await
        .unwrap();
    feed.catch_up(&mut remote).await.unwrap();

    let mut local = ProjectionRunner::new(store.clone(), Totals::default());
    local.catch_up().await.unwrap();
    assert_eq!(handled(&remote), 500);
    assert_eq!(
        remote.totals,
        local.projection().totals,
        "the same read model"
    );
    assert_eq!(remote.last, local.projection().last);
    async_nats::jetstream::new(client)
        .delete_stream(options.stream())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_as_a_stream_follows_new_events_and_resumes_after_acknowledged_ones() {
    use async_nats::jetstream::{self, consumer::AckPolicy, consumer::pull};
    use futures::StreamExt;
    const ACK_WAIT: Duration = Duration::from_secs(2);
    let server = NatsServer::start().await.unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let store: Arc<dyn EventStore> = Arc::new(factum_memory::MemoryStore::new());
    let options = RelayOptions::new(unique_name("LIVE").replace('-', "_"))
        .with_prefix(SubjectPrefix::new(unique_name("l").replace('-', "_")).unwrap());
    let relay = Relay::new(store.clone(), client.clone(), options.clone());
    relay.ensure_stream().await.unwrap();
    // A consumer of the test's own making, to shorten the wait before a
    // message handed out and never acknowledged comes again.
    let live = || async {
        let config = pull::Config {
            durable_name: Some("live".into()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            ..Default::default()
        };
        let consumer = jetstream::new(client.clone())
            .get_stream(options.stream())
            .await
            .unwrap()
            .get_or_create_consumer("live", config)
            .await
            .unwrap();
        JetStreamFeed::from_consumer(consumer)
    };
    let feed = live().await;
    let mut events = feed.events().await.unwrap();

    // Written after the stream of events was opened: it follows them.
    write(&store, 0, 30).await;
    relay.catch_up().await.unwrap();
    let stored = store.read_all(GlobalPosition::START, 100).await.unwrap();
    for expected in &stored[..20] {
        let message = events.next().await.unwrap().unwrap();
        assert_eq!(&message.event, expected);
        message.ack().await.unwrap();
    }
    drop(events);
    drop(feed);

    // Reopened: the ten unacknowledged events come, in order (after the
    // acknowledgement wait for those the dropped stream had pulled).
    let feed = live().await;
    let mut remote = Totals::default();
    let mut handled = 0;
    // Each empty catch-up waits 200 ms: up to 80 s, far past the wait.
    for _ in 0..400 {
        handled += feed.catch_up(&mut remote).await.unwrap();
        if handled >= 10 {
            break;
        }
    }
    let positions: Vec<GlobalPosition> = stored[20..].iter().map(|e| e.position).collect();
    assert_eq!(handled, 10, "the rest, once each");
    assert_eq!(remote.last, positions.last().copied());
    async_nats::jetstream::new(client)
        .delete_stream(options.stream())
        .await
        .unwrap();
}
