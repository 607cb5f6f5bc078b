use factum::{CorrelatedSet, DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

// A typo near a known key: reported once, though two derives read it.
#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(event_tyep = "Requested")]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer)]
struct Requested {
    id: u64,
}

// A key no derive knows.
#[derive(CorrelatedSet)]
#[es(table = "transfers")]
struct Transfer;

fn main() {}
