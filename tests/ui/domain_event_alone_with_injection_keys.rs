use factum::{CorrelatedSet, DomainEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

// Injection keys: `InjectableEvent` implements `DomainEvent` for this
// struct, so it must be derived (alone or beside `DomainEvent`).
#[derive(Serialize, Deserialize, DomainEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer)]
struct Requested {
    id: u64,
}

fn main() {}
