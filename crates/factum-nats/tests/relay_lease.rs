//! Several relays of one PostgreSQL store, each with a worker lease: only
//! the holder publishes; when it dies, another takes over once its term
//! expires; a relay whose term was taken over stops publishing; a relay
//! stopped on purpose lets the lease go at once. The stream holds the feed
//! exactly once and in order throughout.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use factum_core::{EventStore, WorkerLease};
use factum_nats::testing::NatsServer;
use factum_nats::{Relay, RelayOptions};
use factum_postgres::testing::TestSchema;
use factum_postgres::{Lease, PostgresStore, PostgresWorkerLease, sqlx};
use support::{WRITERS, assert_exactly_once, options, relay, write};
use tokio::task::JoinHandle;

const TTL: Duration = Duration::from_secs(1);
/// How long a test waits for something that should happen at once.
const BOUND: Duration = Duration::from_secs(30);

type Leased = Arc<Relay<Arc<dyn EventStore>>>;

/// A PostgreSQL store of the test's own, a NATS server, and a JetStream
/// stream for the relays.
struct Setup {
    pg: PostgresStore,
    schema: TestSchema,
    store: Arc<dyn EventStore>,
    client: async_nats::Client,
    options: RelayOptions,
    _server: NatsServer,
}

impl Setup {
    async fn new() -> Self {
        let (pg, schema) = TestSchema::store().await.unwrap();
        let store: Arc<dyn EventStore> = Arc::new(pg.clone());
        let server = NatsServer::start().await.unwrap();
        let client = async_nats::connect(server.url()).await.unwrap();
        let options = options();
        relay(&store, &client, &options)
            .ensure_stream()
            .await
            .unwrap();
        Self {
            pg,
            schema,
            store,
            client,
            options,
            _server: server,
        }
    }

    /// The relays' lease, held under `holder`.
    fn lease(&self, holder: &str) -> PostgresWorkerLease {
        let name = format!("relay:{}", self.options.stream());
        self.pg
            .worker_lease(name, Lease::new(TTL).with_holder(holder))
    }

    /// A relay with the lease under `holder`.
    fn relay(&self, holder: &str) -> Leased {
        let relay = relay(&self.store, &self.client, &self.options);
        Arc::new(relay.with_lease(self.lease(holder)))
    }

    /// A relay with the lease under `holder`, running.
    fn start(&self, holder: &str) -> (Leased, JoinHandle<()>) {
        let relay = self.relay(holder);
        let running = relay.clone();
        let task = tokio::spawn(async move { running.run().await.unwrap() });
        (relay, task)
    }

    /// Runs `sql` (`{schema}` standing for the store's schema).
    async fn sql<T>(&self, sql: &str) -> Option<T>
    where
        T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let sql = sql.replace("{schema}", &self.schema.schema().quoted());
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_optional(self.pg.pool())
            .await
            .unwrap()
    }

    async fn write(&self, appends: u64) {
        write(self.store.clone(), appends, 1).await;
    }

    async fn assert_exactly_once(&self) {
        assert_exactly_once(&self.store, &self.client, &self.options).await;
    }
}

/// Waits (bounded) until `relay` has published `count` events in all.
async fn published(relay: &Leased, count: u64) {
    let deadline = Instant::now() + BOUND;
    while relay.published() < count {
        let now = relay.published();
        assert!(Instant::now() < deadline, "published {now} of {count}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_holder_publishes_and_another_takes_over_when_it_dies() {
    let setup = Setup::new().await;
    let (a, a_task) = setup.start("relay-a");
    setup.write(20).await;
    published(&a, WRITERS * 20).await;
    let (b, b_task) = setup.start("relay-b");
    setup.write(20).await;
    published(&a, WRITERS * 40).await;
    assert_eq!(b.published(), 0, "the standby publishes nothing");

    // A dies without letting the lease go; B takes over once A's last
    // renewal ran out, and not before.
    a_task.abort();
    let died = Instant::now();
    let writers = tokio::spawn(write(setup.store.clone(), 60, 1));
    published(&b, 1).await;
    let took_over = died.elapsed();
    assert!(
        took_over >= TTL / 2,
        "B took over {took_over:?} after A died: before A's term could expire"
    );
    assert!(
        took_over < TTL * 4,
        "B took over {took_over:?} after A died"
    );
    writers.await.unwrap();
    setup.assert_exactly_once().await;
    assert_eq!(a.published(), WRITERS * 40, "A published after it died");
    assert_eq!(b.published(), WRITERS * 60, "B published the rest");
    b_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_whose_term_was_taken_over_stops_publishing() {
    let setup = Setup::new().await;
    let (a, a_task) = setup.start("relay-a");
    setup.write(10).await;
    published(&a, WRITERS * 10).await;
    let (b, b_task) = setup.start("relay-b");
    // The server sees A's term as expired, as if A had stalled: B takes
    // the lease while A still runs.
    let expire = "UPDATE {schema}.projection_leases SET expires_at = clock_timestamp() RETURNING 1";
    assert_eq!(setup.sql::<i32>(expire).await, Some(1));
    setup.write(10).await;
    let deadline = Instant::now() + BOUND;
    let holder = "SELECT holder FROM {schema}.projection_leases";
    while setup.sql::<String>(holder).await.as_deref() != Some("relay-b") {
        assert!(Instant::now() < deadline, "B never took the lease");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A's next renewal (every third of the time to live) finds its term
    // over; from then on it publishes nothing.
    tokio::time::sleep(TTL).await;
    let a_stopped_at = a.published();
    setup.write(30).await;
    setup.assert_exactly_once().await;
    assert_eq!(
        a.published(),
        a_stopped_at,
        "A published after losing its term"
    );
    assert!(b.published() >= WRITERS * 30, "B published what came after");
    let both = a.published() + b.published();
    assert_eq!(both, WRITERS * 50, "each event published by one of them");
    a_task.abort();
    b_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_stopped_on_purpose_lets_the_lease_go_at_once() {
    let setup = Setup::new().await;
    setup.write(5).await;
    let a = setup.relay("relay-a");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = a.clone();
    let task = tokio::spawn(async move {
        let shutdown = async {
            stopped.await.ok();
        };
        running.run_until(shutdown).await
    });
    published(&a, WRITERS * 5).await;
    let b = setup.lease("relay-b");
    let early = b.try_acquire().await.unwrap();
    assert!(early.is_none(), "A holds the lease");
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    let term = b.try_acquire().await.unwrap();
    assert!(term.is_some(), "A let the lease go as it stopped");
    b.release(term.unwrap()).await.unwrap();
    setup.assert_exactly_once().await;
}
