use factum::DomainEvent;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, DomainEvent)]
#[es]
struct Bare;

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(event_type "Deposited")]
struct NoEquals;

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(event_type = "A" schema_version = 2)]
struct NoComma;

#[derive(Serialize, Deserialize, DomainEvent)]
#[es(schema_version =)]
struct NoValue;

fn main() {}
