use factum::{CorrelatedSet, DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

// No correlation set.
#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"])]
struct Requested {
    id: u64,
}

// No idempotency list, no correlation list.
#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(correlation_set = Transfer)]
struct Answered {
    id: u64,
}

fn main() {}
