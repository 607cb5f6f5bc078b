//! Events written before a field was added still decode, in both codecs.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use factum_core::{
    Codec, DomainEvent, Error, EventData, GlobalPosition, Json, Metadata, PayloadFormat,
    RecordedEvent, RecordedPayload, StreamId,
};
use serde::{Deserialize, Serialize};

/// The event as the first release wrote it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct DepositedV1 {
    account: String,
    amount: u64,
}

/// The same event after a field was added with a default.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Deposited {
    account: String,
    amount: u64,
    #[serde(default)]
    memo: Option<String>,
    #[serde(default = "default_currency")]
    currency: String,
}

fn default_currency() -> String {
    "EUR".to_owned()
}

impl DomainEvent for DepositedV1 {
    const EVENT_TYPES: &'static [&'static str] = &["Deposited"];
    fn event_type(&self) -> &'static str {
        "Deposited"
    }
}

impl DomainEvent for Deposited {
    const EVENT_TYPES: &'static [&'static str] = &["Deposited"];
    fn event_type(&self) -> &'static str {
        "Deposited"
    }
    fn schema_version(&self) -> u32 {
        2
    }
}

/// An enum event: one stored type per variant.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Account {
    Opened { owner: String },
    Closed,
}

impl DomainEvent for Account {
    const EVENT_TYPES: &'static [&'static str] = &["Opened", "Closed"];
    fn event_type(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "Opened",
            Self::Closed => "Closed",
        }
    }
}

fn recorded(data: EventData) -> RecordedEvent {
    RecordedEvent::from_data(
        data,
        StreamId::new("account-1").unwrap(),
        1,
        GlobalPosition::from_parts(0, 1),
        chrono::Utc::now(),
    )
}

fn old_event_still_decodes(codec: &impl Codec) {
    let old = codec
        .encode(&DepositedV1 {
            account: "a-1".into(),
            amount: 40,
        })
        .unwrap();
    assert_eq!(old.format, codec.format());
    assert_eq!(old.schema_version, 1);
    let now: Deposited = recorded(old).decode().unwrap();
    assert_eq!(
        now,
        Deposited {
            account: "a-1".into(),
            amount: 40,
            memo: None,
            currency: "EUR".into(),
        }
    );
    let new = Deposited {
        account: "a-2".into(),
        amount: 7,
        memo: Some("rent".into()),
        currency: "USD".into(),
    };
    let data = codec.encode(&new).unwrap();
    assert_eq!(data.schema_version, 2);
    assert_eq!(recorded(data).decode::<Deposited>().unwrap(), new);
}

#[test]
fn json_decodes_events_written_before_a_field_was_added() {
    old_event_still_decodes(&Json);
}

#[cfg(feature = "msgpack")]
#[test]
fn msgpack_decodes_events_written_before_a_field_was_added() {
    old_event_still_decodes(&factum_core::MessagePack);
}

#[cfg(feature = "msgpack")]
#[test]
fn msgpack_is_smaller_than_json_and_keeps_field_names() {
    let event = Deposited {
        account: "a-1".into(),
        amount: 40,
        memo: None,
        currency: "EUR".into(),
    };
    let packed = factum_core::MessagePack.encode(&event).unwrap();
    let json = Json.encode(&event).unwrap();
    assert_eq!(packed.format, PayloadFormat::MessagePack);
    assert!(packed.payload.len() < json.payload.len());
    assert!(
        packed.payload.windows(6).any(|w| w == b"amount"),
        "named fields are kept"
    );
}

#[test]
fn enum_events_round_trip_per_variant() {
    for event in [
        Account::Opened {
            owner: "ann".into(),
        },
        Account::Closed,
    ] {
        let data = Json.encode(&event).unwrap();
        assert_eq!(data.event_type, event.event_type());
        assert_eq!(recorded(data).decode::<Account>().unwrap(), event);
    }
}

#[test]
fn unknown_event_type_is_a_typed_error_naming_it() {
    let data = Json.encode(&Account::Closed).unwrap();
    match recorded(data).decode::<Deposited>() {
        Err(Error::UnknownEventType {
            event_type, known, ..
        }) => {
            assert_eq!(event_type, "Closed");
            assert_eq!(known, "Deposited");
        }
        other => panic!("expected UnknownEventType, got {other:?}"),
    }
}

#[test]
fn payload_that_does_not_fit_is_a_decode_error_naming_the_type_and_where_it_is() {
    let data = EventData::json("Deposited", br#"{"account": 5}"#.to_vec())
        .with_metadata(Metadata::default());
    let err = recorded(data.clone()).decode::<Deposited>().unwrap_err();
    match &err {
        Error::Decode {
            event_type,
            schema_version: 1,
            stream: Some(stream),
            stream_version: Some(1),
            position: Some(position),
            ..
        } => {
            assert_eq!(event_type, "Deposited");
            assert_eq!(stream.as_str(), "account-1");
            assert_eq!(*position, GlobalPosition::from_parts(0, 1));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let text = err.to_string();
    for part in [
        "\"Deposited\"",
        "account-1@1",
        "position 0:1",
        "invalid type",
    ] {
        assert!(text.contains(part), "{part} is missing from: {text}");
    }
    // A payload read alone knows only its version in the stream.
    let err = RecordedPayload::from(recorded(data))
        .decode::<Deposited>()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Decode {
                stream: None,
                stream_version: Some(1),
                position: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("stream version 1"), "{err}");
}

#[cfg(not(feature = "msgpack"))]
#[test]
fn msgpack_payload_without_the_feature_is_a_clear_error() {
    let data = EventData::new("Deposited", PayloadFormat::MessagePack, vec![0x80]);
    let err = recorded(data).decode::<Deposited>().unwrap_err();
    assert!(err.to_string().contains("msgpack"), "{err}");
}
