use factum::{DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

struct Transfer;

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer)]
struct Requested {
    id: u64,
}

fn main() {}
