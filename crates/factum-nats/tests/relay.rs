//! The relay publishes the global feed to JetStream exactly once and in
//! feed order: 10,000 events from 8 concurrent writers on SQLite and
//! PostgreSQL; a relay aborted at 50 random points and restarted; the
//! NATS server killed and restarted mid-run; a relay restarted after the
//! duplicate window. Each test checks every message against the feed:
//! same events, same order, headers round-tripping, payloads byte for
//! byte. Uses `NATS_URL` / `DATABASE_URL`, or throwaway servers.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod support;

use std::sync::Arc;
use std::time::Duration;

use factum_core::EventStore;
use factum_nats::testing::{NatsServer, unique_name};
use support::{assert_exactly_once, options, relay, write};

async fn ten_thousand_events(store: Arc<dyn EventStore>) {
    let server = NatsServer::start().await.unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let options = options();
    let running = {
        let relay = relay(&store, &client, &options);
        tokio::spawn(async move { relay.run().await })
    };
    write(store.clone(), 250, 5).await;
    assert_exactly_once(&store, &client, &options).await;
    running.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_events_from_sqlite_arrive_once_in_order() {
    let dir = std::env::temp_dir().join(unique_name("factum-relay"));
    std::fs::create_dir_all(&dir).unwrap();
    let store = factum_sqlite::SqliteStore::open(dir.join("store.db"))
        .await
        .unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    ten_thousand_events(store).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_events_from_postgres_arrive_once_in_order() {
    let (store, _schema) = factum_postgres::testing::TestSchema::store().await.unwrap();
    ten_thousand_events(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_aborted_fifty_times_publishes_each_event_once() {
    let store: Arc<dyn EventStore> = Arc::new(factum_memory::MemoryStore::new());
    let server = NatsServer::start().await.unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let options = options().with_window(32);
    let writers = tokio::spawn(write(store.clone(), 200, 2));
    for _ in 0..50 {
        let relay = relay(&store, &client, &options);
        let running = tokio::spawn(async move { relay.run().await });
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..15))).await;
        running.abort();
        let _ = running.await;
    }
    writers.await.unwrap();
    let finisher = relay(&store, &client, &options);
    finisher.ensure_stream().await.unwrap();
    finisher.catch_up().await.unwrap();
    assert_exactly_once(&store, &client, &options).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nats_restart_mid_run_loses_and_doubles_nothing() {
    if std::env::var("NATS_URL").is_ok() {
        return; // Only a server this test started can be restarted.
    }
    let store: Arc<dyn EventStore> = Arc::new(factum_memory::MemoryStore::new());
    let mut server = NatsServer::start().await.unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let options = options();
    let running = {
        let relay = relay(&store, &client, &options);
        tokio::spawn(async move { relay.run().await })
    };
    let writers = tokio::spawn(write(store.clone(), 300, 2));
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.restart().await.unwrap();
    writers.await.unwrap();
    assert_exactly_once(&store, &client, &options).await;
    running.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_restarted_after_the_duplicate_window_publishes_nothing_twice() {
    let store: Arc<dyn EventStore> = Arc::new(factum_memory::MemoryStore::new());
    let server = NatsServer::start().await.unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let options = options().with_duplicate_window(Duration::from_secs(1));
    write(store.clone(), 20, 3).await;
    let first = relay(&store, &client, &options);
    first.ensure_stream().await.unwrap();
    assert_eq!(first.catch_up().await.unwrap(), 8 * 20 * 3);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    write(store.clone(), 5, 1).await;
    let second = relay(
        &store,
        &async_nats::connect(server.url()).await.unwrap(),
        &options,
    );
    second.ensure_stream().await.unwrap();
    assert_eq!(
        second.catch_up().await.unwrap(),
        8 * 5,
        "only the new events"
    );
    assert_exactly_once(&store, &client, &options).await;
}
