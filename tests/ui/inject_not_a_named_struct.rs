use factum::{CorrelatedSet, DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["0"], correlation = ["0"], correlation_set = Transfer)]
struct Tuple(u64);

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer)]
struct Unit;

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer)]
enum Both {
    Requested { id: u64 },
}

fn main() {}
