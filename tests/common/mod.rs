//! A fresh store of each backend, and a macro that runs a flow on each, for
//! the facade's tests that hold every backend to the same behaviour.

use std::sync::Arc;

use factum::EventStore;
use factum::memory::MemoryStore;
use factum::sqlite::SqliteStore;
use factum_postgres::testing::TestSchema;

/// A fresh store of one backend, and what must live as long as it.
pub(crate) type Fixture = (Arc<dyn EventStore>, Option<TestSchema>);

/// A fresh memory store.
pub(crate) async fn memory() -> Fixture {
    (Arc::new(MemoryStore::new()), None)
}

/// A fresh in-memory SQLite store.
pub(crate) async fn sqlite() -> Fixture {
    let store = SqliteStore::in_memory()
        .await
        .expect("an in-memory SQLite store");
    (Arc::new(store), None)
}

/// A PostgreSQL store on a fresh schema.
pub(crate) async fn postgres() -> Fixture {
    let (store, schema) = TestSchema::store().await.expect("a PostgreSQL test schema");
    (Arc::new(store), Some(schema))
}

/// One test per flow and backend: `on_every_backend!(memory, sqlite,
/// postgres; [flow_a, flow_b])` makes `memory::flow_a`, ..., each running
/// `flow(store)` on a fresh store of its backend.
macro_rules! on_every_backend {
    ($($backend:ident),*; $flows:tt) => {
        $(on_every_backend!(@backend $backend $flows);)*
    };
    (@backend $backend:ident [$($flow:ident),*]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $flow() {
                    let (store, _guard) = $crate::common::$backend().await;
                    super::$flow(store).await;
                }
            )*
        }
    };
}

pub(crate) use on_every_backend;
