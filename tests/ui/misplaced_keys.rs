use factum::{DomainEvent, InjectableEvent};
use serde::{Deserialize, Serialize};

// `event_type` on a whole enum, `prefix` on a variant.
#[derive(Serialize, Deserialize, DomainEvent)]
#[es(event_type = "Account")]
enum Account {
    #[es(prefix = "Opened")]
    Opened,
}

// `es` on a field.
#[derive(Serialize, Deserialize, DomainEvent)]
struct Deposited {
    #[es(event_type = "Amount")]
    amount: u64,
}

// A key given twice.
#[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(event_type = "A")]
#[es(event_type = "B")]
struct Withdrawn {
    amount: u64,
}

fn main() {}
