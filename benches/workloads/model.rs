//! The domain the workloads run: ~150-byte deposit events folded into a
//! balance, as the workloads of `docs/design.md` (section 8) describe.

use factum::aggregate::Aggregate;
use factum::{DomainEvent, EventData};
use serde::{Deserialize, Serialize};

/// A deposit; its JSON is about 150 bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Deposited {
    pub(crate) account: String,
    pub(crate) amount: u64,
    pub(crate) currency: String,
    pub(crate) reference: String,
    pub(crate) teller: String,
}

impl DomainEvent for Deposited {
    const EVENT_TYPES: &'static [&'static str] = &["Deposited"];
    fn event_type(&self) -> &'static str {
        "Deposited"
    }
}

pub(crate) fn deposit(n: u64) -> Deposited {
    Deposited {
        account: format!("account-{:08}", n % 1_000),
        amount: 1_000 + n,
        currency: "EUR".into(),
        reference: format!("invoice-2026-{n:010}-monthly-fee"),
        teller: "branch-042/teller-17".into(),
    }
}

/// The payload of [`deposit`] `n`, as JSON bytes.
pub(crate) fn payload(n: u64) -> Vec<u8> {
    serde_json::to_vec(&deposit(n)).expect("deposits serialize")
}

/// A deposit an auditor flagged: the same payload as [`Deposited`], stored
/// under a type of its own, which the filtered workload (W5) selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Flagged(pub(crate) Deposited);

/// The stored type of [`Flagged`] events.
pub(crate) const FLAGGED: &str = "Flagged";

impl DomainEvent for Flagged {
    const EVENT_TYPES: &'static [&'static str] = &[FLAGGED];
    fn event_type(&self) -> &'static str {
        FLAGGED
    }
}

/// One event as both sides write it: the same id, type and payload.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) event_id: uuid::Uuid,
    pub(crate) event_type: &'static str,
    pub(crate) payload: Vec<u8>,
}

impl Row {
    pub(crate) fn new(n: u64) -> Self {
        Self {
            event_id: uuid::Uuid::now_v7(),
            event_type: "Deposited",
            payload: payload(n),
        }
    }

    pub(crate) fn to_event(&self) -> EventData {
        let mut event = EventData::json(self.event_type, self.payload.clone());
        event.event_id = self.event_id;
        event
    }
}

/// One event of a feed written across streams: its stream, its version
/// there, and the row.
#[derive(Debug, Clone)]
pub(crate) struct FeedRow {
    pub(crate) stream: String,
    pub(crate) version: u64,
    pub(crate) row: Row,
}

/// The balance of one account.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Balance {
    pub(crate) total: u64,
    pub(crate) deposits: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
pub(crate) struct Never;

impl Aggregate for Balance {
    const CATEGORY: &'static str = "balance";
    type Event = Deposited;
    type Command = u64;
    type Error = Never;

    fn apply(&mut self, event: &Deposited) {
        self.total += event.amount;
        self.deposits += 1;
    }

    fn handle(&self, n: u64) -> Result<Vec<Deposited>, Never> {
        Ok(vec![deposit(n)])
    }
}
