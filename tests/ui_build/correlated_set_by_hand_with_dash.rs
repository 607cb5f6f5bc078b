//! A correlation set implemented by hand gets the derive's rule when
//! something is injected into it.

use factum::memory::MemoryStore;
use factum::{CorrelatedSet, InjectEvents, InjectableEvent};
use serde::{Deserialize, Serialize};

struct SalesOrders;

impl CorrelatedSet for SalesOrders {
    const PREFIX: &'static str = "sales-order";
}

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = SalesOrders)]
struct Requested {
    id: u64,
}

fn main() {
    let store = MemoryStore::new();
    let _injection = store.idempotent_inject_event(Requested { id: 1 });
}
