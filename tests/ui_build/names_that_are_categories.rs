//! The build-time checks let good names through: this builds and runs.

#[macro_use]
#[path = "common/aggregate.rs"]
mod aggregate;

use factum::aggregate::{AggregateTest, Repository};
use factum::memory::MemoryStore;
use factum::{CorrelatedSet, InjectEvents, InjectableEvent};
use serde::{Deserialize, Serialize};

aggregate!(SalesOrder, "salesOrder");

#[derive(CorrelatedSet)]
#[es(prefix = "sales_order")]
struct SalesOrders;

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = SalesOrders)]
struct Requested {
    id: u64,
}

fn main() {
    let orders = Repository::<SalesOrder, _>::new(MemoryStore::new());
    assert_eq!(orders.stream_id("7").unwrap().category(), "salesOrder");
    AggregateTest::<SalesOrder>::given_no_events().when(()).then_events([Placed]);
    let store = MemoryStore::new();
    let _injection = store.idempotent_inject_event(Requested { id: 1 });
}
