//! A derived enum event is stored as the content of its variant (a struct
//! variant as its fields, a unit variant as `{}`, a newtype variant as its
//! inner value, a tuple variant as an array), the variant being picked by
//! the stored event type; both codecs agree; payloads that earlier versions
//! wrote in serde's externally tagged form still decode, and so does a
//! payload written by hand in the documented shape, on every backend.

mod common;

use std::sync::Arc;

use common::on_every_backend;
use factum::sqlite::SqliteStore;
use factum::{
    Codec, DomainEvent, Error, EventAppender, EventData, EventStore, ExpectedVersion, Json,
    PayloadFormat, PayloadShape, ReadOptions, StreamId, Upcasted, Upcasters,
};
use factum_postgres::testing::TestSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

/// serde's names differ from the event types (`rename_all`), a field is
/// renamed, and a variant serde skips shifts the indexes of those after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent)]
#[serde(rename_all = "snake_case")]
enum Order {
    Placed {
        items: Vec<String>,
        #[serde(rename = "note")]
        memo: Option<String>,
    },
    // Never written: serde skips it, so it cannot be decoded either.
    #[serde(skip)]
    #[allow(dead_code)]
    Draft,
    Paid {
        amount: u64,
    },
    #[es(event_type = "OrderShipped")]
    Shipped,
    Renamed(String),
    Moved(i32, i32),
}

/// An internally tagged enum keeps serde's own form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent)]
#[serde(tag = "type")]
enum Tagged {
    Noted { text: String },
}

/// Every storable variant, with its payload in the documented shape.
fn variants() -> Vec<(Order, Value)> {
    vec![
        (
            Order::Placed {
                items: vec!["tea".into(), "cup".into()],
                memo: Some("gift".into()),
            },
            json!({"items": ["tea", "cup"], "note": "gift"}),
        ),
        (Order::Paid { amount: 5 }, json!({"amount": 5})),
        (Order::Shipped, json!({})),
        (Order::Renamed("bob".into()), json!("bob")),
        (Order::Moved(1, -2), json!([1, -2])),
    ]
}

fn stream(id: &str) -> StreamId {
    StreamId::new(id).expect("valid stream id")
}

#[test]
fn the_derive_stores_a_default_enum_by_variant_and_a_tagged_one_as_serde_does() {
    assert_eq!(
        Order::PAYLOAD_SHAPE,
        PayloadShape::Variant {
            indexes: &[Some(0), None, Some(1), Some(2), Some(3), Some(4)]
        }
    );
    assert_eq!(Tagged::PAYLOAD_SHAPE, PayloadShape::Value);
    let noted = Tagged::Noted { text: "hi".into() };
    let data = Json.encode(&noted).expect("encode");
    let stored: Value = serde_json::from_slice(&data.payload).expect("JSON");
    assert_eq!(stored, json!({"type": "Noted", "text": "hi"}));
}

#[test]
fn json_stores_each_variant_as_its_content() {
    for (event, content) in variants() {
        let data = Json.encode(&event).expect("encode");
        assert_eq!(data.event_type, event.event_type());
        let stored: Value = serde_json::from_slice(&data.payload).expect("JSON");
        assert_eq!(stored, content, "{event:?}");
    }
}

#[cfg(feature = "msgpack")]
#[test]
fn message_pack_stores_the_same_content_as_json() {
    for (event, content) in variants() {
        let data = factum::MessagePack.encode(&event).expect("encode");
        assert_eq!(data.format, PayloadFormat::MessagePack);
        let stored: Value = rmp_serde::from_slice(&data.payload).expect("MessagePack");
        assert_eq!(stored, content, "{event:?}");
    }
}

/// For each variant: the payloads a store may hold for it, each with what
/// wrote it. All must decode to the variant.
fn payloads(event: &Order, content: &Value) -> Vec<(&'static str, EventData)> {
    let event_type = event.event_type();
    let mut written = vec![
        ("json", Json.encode(event).expect("encode")),
        (
            "by hand",
            EventData::json(event_type, content.to_string().into_bytes()),
        ),
        (
            "serde's enum form, by an earlier version",
            EventData::json(event_type, serde_json::to_vec(event).expect("JSON")),
        ),
    ];
    #[cfg(feature = "msgpack")]
    written.extend([
        (
            "msgpack",
            factum::MessagePack.encode(event).expect("encode"),
        ),
        (
            "msgpack, serde's enum form, by an earlier version",
            EventData::new(
                event_type,
                PayloadFormat::MessagePack,
                rmp_serde::to_vec_named(event).expect("MessagePack"),
            ),
        ),
    ]);
    written
}

async fn every_shape_decodes(store: Arc<dyn EventStore>) {
    let orders = stream("order-1");
    let mut expected = Vec::new();
    for (event, content) in variants() {
        for (source, data) in payloads(&event, &content) {
            expected.push((event.clone(), source));
            store
                .append(&orders, ExpectedVersion::Any, vec![data])
                .await
                .expect("append");
        }
    }
    // The old form, exactly as earlier versions wrote it.
    let literal = [
        (
            r#"{"paid":{"amount":7}}"#,
            "Paid",
            Order::Paid { amount: 7 },
        ),
        (r#""shipped""#, "OrderShipped", Order::Shipped),
    ];
    for (payload, event_type, event) in literal {
        let data = EventData::json(event_type, payload.as_bytes().to_vec());
        store
            .append(&orders, ExpectedVersion::Any, vec![data])
            .await
            .expect("append");
        expected.push((event, "a literal of serde's enum form"));
    }
    let stored = store
        .read_stream(&orders, ReadOptions::all())
        .await
        .expect("read");
    assert_eq!(stored.len(), expected.len());
    for (recorded, (event, source)) in stored.iter().zip(expected) {
        let decoded = recorded.decode::<Order>();
        assert_eq!(decoded.ok(), Some(event), "written {source}: {recorded:?}");
    }
}

async fn decode_errors_name_the_type_and_the_event(store: Arc<dyn EventStore>) {
    let orders = stream("order-2");
    let events = vec![
        EventData::json("Paid", br#"{"amount":"five"}"#.to_vec()),
        EventData::json("Draft", b"{}".to_vec()),
    ];
    store
        .append(&orders, ExpectedVersion::NoStream, events)
        .await
        .expect("append");
    let stored = store
        .read_stream(&orders, ReadOptions::all())
        .await
        .expect("read");
    let err = stored[0].decode::<Order>().expect_err("a string amount");
    match &err {
        Error::Decode {
            event_type,
            stream: Some(stream),
            stream_version: Some(1),
            position: Some(position),
            ..
        } => {
            assert_eq!(event_type, "Paid");
            assert_eq!(stream, &orders);
            assert_eq!(*position, stored[0].position);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let text = err.to_string();
    for part in ["\"Paid\"", "order-2@1", "invalid type"] {
        assert!(text.contains(part), "{part} is missing from: {text}");
    }
    let err = stored[1].decode::<Order>().expect_err("a skipped variant");
    assert!(err.to_string().contains("skip"), "{err}");
}

on_every_backend!(memory, sqlite, postgres; [
    every_shape_decodes,
    decode_errors_name_the_type_and_the_event
]);

#[test]
fn an_upcaster_hands_over_the_variant_content() {
    // Version 1 of `Paid` held `cents`; the upcaster writes today's shape.
    let upcasters = Upcasters::new().register("Paid", 1, |payload| {
        Ok(Upcasted {
            event_type: "Paid".into(),
            schema_version: 2,
            payload: json!({ "amount": payload["cents"].clone() }),
        })
    });
    let data = EventData::json("Paid", br#"{"cents":12}"#.to_vec());
    let recorded = factum::RecordedEvent::from_data(
        data,
        stream("order-3"),
        1,
        factum::GlobalPosition::from_parts(0, 1),
        chrono::Utc::now(),
    );
    assert_eq!(
        upcasters.decode::<Order>(&recorded).expect("upcast"),
        Order::Paid { amount: 12 }
    );
}

#[tokio::test]
async fn sqlite_reads_a_variant_field_at_its_own_path() {
    let store = SqliteStore::in_memory().await.expect("store");
    let orders = stream("order-4");
    let events = [Order::Paid { amount: 5 }, Order::Shipped]
        .iter()
        .map(|event| Json.encode(event).expect("encode"))
        .collect();
    store
        .append(&orders, ExpectedVersion::NoStream, events)
        .await
        .expect("append");
    let rows = sqlx::query(
        "SELECT event_type, json_extract(payload, '$.amount'), json_type(payload) \
         FROM factum_events ORDER BY position",
    )
    .fetch_all(&mut *store.read_connection().await.expect("reader"))
    .await
    .expect("query");
    let found: Vec<(String, Option<i64>, String)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        found,
        [
            ("Paid".to_owned(), Some(5), "object".to_owned()),
            ("OrderShipped".to_owned(), None, "object".to_owned()),
        ]
    );
}

#[tokio::test]
async fn postgres_reads_a_variant_field_at_its_own_path() {
    let (store, schema) = TestSchema::store().await.expect("schema");
    let orders = stream("order-5");
    let paid = Json.encode(&Order::Paid { amount: 5 }).expect("encode");
    store
        .append(&orders, ExpectedVersion::NoStream, vec![paid])
        .await
        .expect("append");
    let sql = format!(
        "SELECT (payload_json->>'amount')::bigint FROM {}.events WHERE event_type = 'Paid'",
        schema.schema().quoted()
    );
    let amount: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(store.pool())
        .await
        .expect("query");
    assert_eq!(amount, 5);
}
