use factum::{CorrelatedSet, DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(event_type = Deposited)]
struct Deposited;

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(schema_version = "2")]
struct Withdrawn;

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(schema_version = 0)]
struct Opened;

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(schema_version = -1)]
struct Reopened;

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(event_type = "")]
struct Closed;

#[derive(CorrelatedSet)]
#[es(prefix = Transfer)]
struct Transfer;

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = "id", correlation = ["id"], correlation_set = Transfer)]
struct Requested {
    id: u64,
}

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = [id], correlation = ["id"], correlation_set = Transfer)]
struct Answered {
    id: u64,
}

#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = "Transfer")]
struct Noted {
    id: u64,
}

fn main() {}
