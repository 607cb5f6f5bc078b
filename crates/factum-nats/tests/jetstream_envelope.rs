//! Events carried by a real JetStream stream come back whole: published
//! with their envelope's headers, read back by sequence (also after the
//! server was killed and restarted on its store), they equal what was
//! published, payload byte for byte. Uses `NATS_URL`, or a throwaway
//! `nats-server -js`.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use async_nats::jetstream::{self, stream::Config};
use chrono::Utc;
use factum_core::{
    EventData, GlobalPosition, Metadata, PayloadFormat, RecordedEvent, StreamId, Tag,
};
use factum_nats::testing::{NatsServer, unique_name};
use factum_nats::{SubjectPrefix, envelope};

fn events() -> Vec<RecordedEvent> {
    let stream = StreamId::new("order-7").unwrap();
    let packed = EventData::new(
        "Order Shipped",
        PayloadFormat::MessagePack,
        vec![0x81, 0xa1, 0x6e, 0x07, 0x00],
    )
    .with_metadata(
        Metadata::default()
            .with_actor("clerk\r\n2")
            .with_custom("k", "v"),
    )
    .with_tag(Tag::new("order:7").unwrap());
    let json =
        EventData::json("Placed", br#"{"total": 7}"#.to_vec()).with_idempotency_key("place-7");
    vec![
        RecordedEvent::from_data(
            json,
            stream.clone(),
            1,
            GlobalPosition::from_parts(5, 1),
            Utc::now(),
        ),
        RecordedEvent::from_data(
            packed,
            stream,
            2,
            GlobalPosition::from_parts(5, 2),
            Utc::now(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_round_trip_through_jetstream_and_a_server_restart() {
    let mut server = NatsServer::start().await.unwrap();
    let prefix = SubjectPrefix::new(unique_name("t").replace('-', "_")).unwrap();
    let name = unique_name("FACTUM_TEST").replace('-', "_");
    let context = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    context
        .create_stream(Config {
            name: name.clone(),
            subjects: vec![prefix.wildcard()],
            ..Default::default()
        })
        .await
        .unwrap();

    let written = events();
    for event in &written {
        let subject = prefix.subject(&event.stream_id, &event.event_type);
        let headers = envelope::headers(event);
        let ack = context
            .publish_with_headers(subject, headers, event.payload.clone().into())
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(!ack.duplicate);
    }
    // The same event id again is a duplicate JetStream drops.
    let again = &written[0];
    let ack = context
        .publish_with_headers(
            prefix.subject(&again.stream_id, &again.event_type),
            envelope::headers(again),
            again.payload.clone().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(ack.duplicate, "Nats-Msg-Id is the event id");

    let read_back = |context: jetstream::Context| {
        let name = name.clone();
        async move {
            let stream = context.get_stream(&name).await.unwrap();
            let mut events = Vec::new();
            for sequence in 1..=2 {
                let message = stream.get_raw_message(sequence).await.unwrap();
                events.push(
                    envelope::event_from_message(
                        &message.subject,
                        &message.headers,
                        &message.payload,
                    )
                    .unwrap(),
                );
            }
            events
        }
    };
    assert_eq!(read_back(context.clone()).await, written);

    if std::env::var("NATS_URL").is_err() {
        server.restart().await.unwrap();
        let context = jetstream::new(async_nats::connect(server.url()).await.unwrap());
        assert_eq!(read_back(context).await, written, "kept across a restart");
    }
    let context = jetstream::new(async_nats::connect(server.url()).await.unwrap());
    context.delete_stream(&name).await.unwrap();
}
