use factum::{CorrelatedSet, DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = existing)]
struct Answered {
    id: u64,
}

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = "new")]
struct Requested {
    id: u64,
}

fn main() {}
