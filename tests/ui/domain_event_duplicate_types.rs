use factum::DomainEvent;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, DomainEvent)]
enum Account {
    Opened,
    #[es(event_type = "Opened")]
    Reopened,
}

fn main() {}
