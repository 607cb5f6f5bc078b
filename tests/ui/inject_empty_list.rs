use factum::{CorrelatedSet, DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = [], correlation = ["id"], correlation_set = Transfer)]
struct Requested {
    id: u64,
}

fn main() {}
