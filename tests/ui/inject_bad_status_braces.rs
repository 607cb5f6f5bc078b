use factum::{CorrelatedSet, InjectableEvent};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
struct Transfer;

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = {})]
struct Empty {
    id: u64,
}

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = { existing })]
struct Misspelt {
    id: u64,
}

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = { exists, new })]
struct Two {
    id: u64,
}

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = { "exists" })]
struct Quoted {
    id: u64,
}

#[derive(Serialize, Deserialize, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = { exists } any)]
struct Trailing {
    id: u64,
}

fn main() {}
