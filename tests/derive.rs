//! What the derives generate: type names, schema versions, prefixes,
//! idempotency keys, correlation ids and statuses.

use factum::memory::MemoryStore;
use factum::{
    Codec, CorrelatedSet, CorrelationStatus, DomainEvent, Error, EventAppender, EventReader,
    ExpectedVersion, InjectableEvent, Json, ReadOptions, StreamId,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize, DomainEvent)]
struct Deposited {
    amount: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, DomainEvent)]
#[es(event_type = "MoneyWithdrawn", schema_version = 4)]
struct Withdrawn {
    amount: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, DomainEvent)]
struct Unit;

#[derive(Debug, PartialEq, Serialize, Deserialize, DomainEvent)]
enum Account {
    Opened { owner: String },
    Renamed(String),
    Closed,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, DomainEvent)]
#[es(schema_version = 2)]
enum Ledger {
    Credited {
        cents: u64,
    },
    #[es(event_type = "LedgerDebited")]
    Debited {
        cents: u64,
    },
    #[es(schema_version = 7)]
    #[es(event_type = "LedgerFrozen")]
    Frozen,
}

/// Generic events bound their parameters themselves, as `DomainEvent`
/// requires `Serialize + DeserializeOwned + Send + Sync + 'static`.
#[derive(Debug, PartialEq, Serialize, Deserialize, DomainEvent)]
#[serde(bound = "")]
struct Wrapped<T: Serialize + DeserializeOwned + Send + Sync + 'static> {
    inner: T,
}

#[test]
fn a_struct_is_stored_under_its_name_at_version_1() {
    assert_eq!(Deposited::EVENT_TYPES, ["Deposited"]);
    let event = Deposited { amount: 5 };
    assert_eq!(event.event_type(), "Deposited");
    assert_eq!(event.schema_version(), 1);
    assert_eq!(Unit::EVENT_TYPES, ["Unit"]);
    assert_eq!(Unit.event_type(), "Unit");
    assert_eq!(Wrapped::<u8>::EVENT_TYPES, ["Wrapped"]);
    assert_eq!(Wrapped { inner: 1u8 }.event_type(), "Wrapped");
}

#[test]
fn struct_attributes_override_name_and_version() {
    assert_eq!(Withdrawn::EVENT_TYPES, ["MoneyWithdrawn"]);
    let data = Json.encode(&Withdrawn { amount: 3 }).expect("encode");
    assert_eq!(data.event_type, "MoneyWithdrawn");
    assert_eq!(data.schema_version, 4);
    assert_eq!(data.payload, br#"{"amount":3}"#);
}

#[test]
fn an_enum_is_stored_under_each_variant_name() {
    assert_eq!(Account::EVENT_TYPES, ["Opened", "Renamed", "Closed"]);
    let opened = Account::Opened {
        owner: "ada".into(),
    };
    assert_eq!(opened.event_type(), "Opened");
    assert_eq!(Account::Renamed("bob".into()).event_type(), "Renamed");
    assert_eq!(Account::Closed.event_type(), "Closed");
    assert_eq!(Account::Closed.schema_version(), 1);
}

#[test]
fn variant_attributes_override_the_enum_defaults() {
    assert_eq!(
        Ledger::EVENT_TYPES,
        ["Credited", "LedgerDebited", "LedgerFrozen"]
    );
    let credited = Ledger::Credited { cents: 1 };
    let debited = Ledger::Debited { cents: 2 };
    assert_eq!(
        (credited.event_type(), credited.schema_version()),
        ("Credited", 2)
    );
    assert_eq!(
        (debited.event_type(), debited.schema_version()),
        ("LedgerDebited", 2)
    );
    assert_eq!(
        (Ledger::Frozen.event_type(), Ledger::Frozen.schema_version()),
        ("LedgerFrozen", 7)
    );
}

#[tokio::test]
async fn enum_events_decode_back_by_their_stored_names() {
    let store = MemoryStore::new();
    let stream = StreamId::new("ledger-1").expect("valid");
    let events = [
        Ledger::Credited { cents: 1 },
        Ledger::Debited { cents: 2 },
        Ledger::Frozen,
    ];
    let mut data: Vec<_> = events
        .iter()
        .map(|event| Json.encode(event).expect("encode"))
        .collect();
    data.push(Json.encode(&Deposited { amount: 1 }).expect("encode"));
    store
        .append(&stream, ExpectedVersion::NoStream, data)
        .await
        .expect("append");
    let stored = store
        .read_stream(&stream, ReadOptions::all())
        .await
        .expect("read");
    let types: Vec<_> = stored.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["Credited", "LedgerDebited", "LedgerFrozen", "Deposited"]
    );
    let versions: Vec<_> = stored.iter().map(|e| e.schema_version).collect();
    assert_eq!(versions, [2, 2, 7, 1]);
    for (recorded, event) in stored.iter().zip(&events) {
        assert_eq!(&recorded.decode::<Ledger>().expect("decode"), event);
    }
    match stored[3].decode::<Ledger>() {
        Err(Error::UnknownEventType { known, .. }) => {
            assert_eq!(known, "Credited, LedgerDebited, LedgerFrozen");
        }
        other => panic!("expected an unknown event type, got {other:?}"),
    }
}

#[derive(CorrelatedSet)]
struct Transfer;

#[derive(CorrelatedSet)]
#[es(prefix = "Pay")]
enum Payments {}

#[test]
fn a_correlated_set_prefix_is_its_name_or_the_override() {
    assert_eq!(Transfer::PREFIX, "Transfer");
    assert_eq!(Payments::PREFIX, "Pay");
}

#[derive(Debug, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["request_id"], correlation = ["correlation_id"], correlation_set = Transfer)]
struct RequestEvent {
    request_id: u64,
    correlation_id: u64,
}

#[derive(Debug, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(event_type = "PaymentSettled", schema_version = 3)]
#[es(
    idempotency = ["payer", "type", "attempt"],
    correlation = ["payer", "invoice"],
    correlation_set = Payments,
    status = exists,
)]
struct Settled {
    payer: String,
    r#type: String,
    invoice: u32,
    attempt: u8,
    ignored: bool,
}

#[derive(Debug, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = any)]
struct Noted {
    id: i64,
}

/// The set and status of `E`, read through the trait as the store does.
fn set_and_status<E: InjectableEvent>() -> (&'static str, CorrelationStatus) {
    (<E::Set as CorrelatedSet>::PREFIX, E::STATUS)
}

#[test]
fn keys_join_the_event_type_or_prefix_and_the_listed_fields() {
    let request = RequestEvent {
        request_id: 1,
        correlation_id: 1,
    };
    assert_eq!(request.idempotency_key(), "RequestEvent-1");
    assert_eq!(request.correlation_id(), "Transfer-1");
    let request = RequestEvent {
        request_id: 12,
        correlation_id: 34,
    };
    assert_eq!(request.idempotency_key(), "RequestEvent-12");
    assert_eq!(request.correlation_id(), "Transfer-34");
    assert_eq!(
        set_and_status::<RequestEvent>(),
        ("Transfer", CorrelationStatus::New)
    );
}

#[test]
fn keys_follow_the_overrides_and_the_listed_order() {
    let settled = Settled {
        payer: "ada".into(),
        r#type: "card".into(),
        invoice: 9,
        attempt: 2,
        ignored: true,
    };
    assert_eq!(settled.event_type(), "PaymentSettled");
    assert_eq!(settled.schema_version(), 3);
    assert_eq!(settled.idempotency_key(), "PaymentSettled-ada-card-2");
    assert_eq!(settled.correlation_id(), "Pay-ada-9");
    assert_eq!(
        set_and_status::<Settled>(),
        ("Pay", CorrelationStatus::Exists)
    );
    let noted = Noted { id: -5 };
    assert_eq!(noted.idempotency_key(), "Noted--5");
    assert_eq!(noted.correlation_id(), "Transfer--5");
    assert_eq!(
        set_and_status::<Noted>(),
        ("Transfer", CorrelationStatus::Any)
    );
}
