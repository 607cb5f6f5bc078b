use factum::{CorrelatedSet, DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["reqest_id"], correlation = ["correlation_id", "corelation"], correlation_set = Transfer)]
struct RequestEvent {
    request_id: u64,
    correlation_id: u64,
}

fn main() {}
