//! LISTEN/NOTIFY wake-up of subscriptions: with a poll interval far longer
//! than the bounds asserted here, only the notification can deliver events
//! in time, also after the listener's connection was killed.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::time::Duration;

use factum_core::{
    EventAppender, EventData, ExpectedVersion, RecordedEvent, StreamId, Subscribe,
    SubscriptionOptions,
};
use factum_postgres::PostgresStore;
use factum_postgres::testing::TestSchema;
use futures::StreamExt;
use sqlx::PgPool;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// Far longer than any bound below: an event arriving within a bound was
/// woken by a notification, not by polling.
const POLL: Duration = Duration::from_secs(30);
/// The correctness bound on delivery after an append.
const BOUND: Duration = Duration::from_secs(10);

/// Lets a subscription that has just read events settle into waiting for a
/// notification: cursors re-check on their own for 50 ms after finding
/// events, and an append in that time would be seen without one.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn append(store: &PostgresStore, stream: &str) {
    store
        .append(
            &StreamId::new(stream).unwrap(),
            ExpectedVersion::Any,
            vec![EventData::json("Pinged", b"{}".to_vec())],
        )
        .await
        .unwrap();
}

/// A subscription from the start, polling every [`POLL`], driven by a task
/// of its own (so that it waits for notifications while the test does other
/// things), handing its events over the returned channel.
fn subscribe(store: &PostgresStore) -> UnboundedReceiver<RecordedEvent> {
    let (events, received) = unbounded_channel();
    let store = store.clone();
    tokio::spawn(async move {
        let mut subscription =
            store.subscribe(SubscriptionOptions::from_start().with_poll_interval(POLL));
        while let Some(event) = subscription.next().await {
            if events.send(event.unwrap()).is_err() {
                break;
            }
        }
    });
    received
}

async fn next_within(events: &mut UnboundedReceiver<RecordedEvent>) -> RecordedEvent {
    tokio::time::timeout(BOUND, events.recv())
        .await
        .expect("the event arrives well before the poll interval")
        .expect("the subscription goes on")
}

/// The pids of the store's listener connection (at most one).
async fn listener_pids(admin: &PgPool, store: &PostgresStore) -> Vec<i32> {
    sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
        .bind(store.feed_listener_name())
        .fetch_all(admin)
        .await
        .unwrap()
}

/// Waits (bounded) until `check` holds for the listener's pids.
async fn await_pids(
    admin: &PgPool,
    store: &PostgresStore,
    check: impl Fn(&[i32]) -> bool,
) -> Vec<i32> {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let pids = listener_pids(admin, store).await;
        if check(&pids) {
            return pids;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "listener pids stayed {pids:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_wakes_a_subscription_long_before_its_poll() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let mut events = subscribe(&store);
    // The subscription is caught up (empty feed) and waiting; each append
    // must wake it.
    for i in 0..3 {
        settle().await;
        append(&store, &format!("ping-{i}")).await;
        let event = next_within(&mut events).await;
        assert_eq!(event.stream_id.as_str(), format!("ping-{i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_still_arrive_after_the_listener_connection_is_killed() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let admin = PgPool::connect(schema.url()).await.unwrap();
    let mut events = subscribe(&store);
    append(&store, "before-1").await;
    assert_eq!(
        next_within(&mut events).await.stream_id.as_str(),
        "before-1"
    );

    let old = await_pids(&admin, &store, |p| p.len() == 1).await;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(old[0])
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(killed);
    // Appended while the listener may be down: the notify after the
    // reconnect (or the poll) delivers it.
    append(&store, "during-1").await;
    assert_eq!(
        next_within(&mut events).await.stream_id.as_str(),
        "during-1"
    );
    // A new listener connection is up, and wakes the subscription again.
    await_pids(&admin, &store, |p| p.len() == 1 && p[0] != old[0]).await;
    for i in 0..2 {
        append(&store, &format!("after-{i}")).await;
        assert_eq!(
            next_within(&mut events).await.stream_id.as_str(),
            format!("after-{i}")
        );
    }
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_ends_with_the_last_clone_of_the_store() {
    let (store, schema) = TestSchema::store().await.unwrap();
    let admin = PgPool::connect(schema.url()).await.unwrap();
    let clone = store.clone();
    // Starts the listener, as a subscription does.
    assert!(factum_core::EventReader::feed_signal(&clone).is_some());
    await_pids(&admin, &store, |p| p.len() == 1).await;
    let name = store.feed_listener_name();
    drop(clone);
    // A clone still holds the listener.
    await_pids(&admin, &store, |p| p.len() == 1).await;
    drop(store);
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&name)
                .fetch_one(&admin)
                .await
                .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listener outlived its store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_delivered_though_its_notifications_are_throttled() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let mut events = subscribe(&store);
    // A store notifies at most once per 50 ms: most of these appends send
    // no notification of their own, and must still arrive long before the
    // poll.
    for i in 0..20 {
        append(&store, &format!("burst-{i}")).await;
    }
    for i in 0..20 {
        assert_eq!(
            next_within(&mut events).await.stream_id.as_str(),
            format!("burst-{i}")
        );
    }
    // A lone append after the burst is seen too.
    settle().await;
    append(&store, "after-burst").await;
    assert_eq!(
        next_within(&mut events).await.stream_id.as_str(),
        "after-burst"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_of_another_store_wake_a_subscription() {
    let (store, schema) = TestSchema::store().await.unwrap();
    // Another store on the same schema, as another process would have:
    // its announcements go through PostgreSQL, not through memory.
    let other = PostgresStore::with_options(
        PgPool::connect(schema.url()).await.unwrap(),
        store.options().clone(),
    );
    let mut events = subscribe(&store);
    for i in 0..3 {
        settle().await;
        append(&other, &format!("other-{i}")).await;
        assert_eq!(
            next_within(&mut events).await.stream_id.as_str(),
            format!("other-{i}")
        );
    }
    other.pool().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_in_a_callers_transaction_wake_a_subscription_on_commit() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let mut events = subscribe(&store);
    for i in 0..3 {
        settle().await;
        let mut tx = store.pool().begin().await.unwrap();
        store
            .append_in(
                &mut tx,
                vec![factum_core::StreamAppend::new(
                    StreamId::new(format!("in-tx-{i}")).unwrap(),
                    ExpectedVersion::NoStream,
                    vec![EventData::json("Pinged", b"{}".to_vec())],
                )],
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            next_within(&mut events).await.stream_id.as_str(),
            format!("in-tx-{i}")
        );
    }
}
