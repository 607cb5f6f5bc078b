use factum::{CorrelatedSet, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer)]
struct Requested {
    id: u64,
}

fn main() {}
