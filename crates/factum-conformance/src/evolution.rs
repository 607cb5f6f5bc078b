//! Schema evolution across readers: one stored event split into two, one
//! dropped, one left alone, the same through the repository, a subscription
//! and a projection runner given the same upcasters; an event stored in a
//! schema version newer than the code knows is a typed error naming where
//! it is.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::support::{append_ok, stream};
use factum_core::aggregate::{Aggregate, Repository};
use factum_core::{
    BoxError, DomainEvent, Error, EventData, EventFilter, EventStore, ExpectedVersion, Projection,
    ProjectionRunner, RecordedEvent, SchemaTooNew, Subscribe, SubscriptionOptions, Upcasted,
    Upcasters,
};

/// A trail of moves: today's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TrailEvent {
    Left { from: String },
    Arrived { to: String },
    Noted { text: String },
}

impl DomainEvent for TrailEvent {
    const EVENT_TYPES: &'static [&'static str] = &["Left", "Arrived", "Noted"];
    const SCHEMA_VERSIONS: &'static [u32] = &[1, 1, 1];
    fn event_type(&self) -> &'static str {
        match self {
            Self::Left { .. } => "Left",
            Self::Arrived { .. } => "Arrived",
            Self::Noted { .. } => "Noted",
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Trail {
    log: Vec<String>,
}

impl Aggregate for Trail {
    const CATEGORY: &'static str = "trail";
    type Event = TrailEvent;
    type Command = ();
    type Error = std::convert::Infallible;

    fn apply(&mut self, event: &TrailEvent) {
        self.log.push(match event {
            TrailEvent::Left { from } => format!("left {from}"),
            TrailEvent::Arrived { to } => format!("arrived {to}"),
            TrailEvent::Noted { text } => format!("noted {text}"),
        });
    }

    fn handle(&self, (): ()) -> Result<Vec<TrailEvent>, Self::Error> {
        Ok(vec![])
    }
}

/// "Moved" (gone from today's code) becomes "Left" then "Arrived"; "Pinged"
/// is dropped.
fn upcasters() -> Upcasters {
    Upcasters::new()
        .register_split("Moved", 1, |payload| {
            Ok(vec![
                Upcasted {
                    event_type: "Left".into(),
                    schema_version: 1,
                    payload: json!({ "from": payload["from"] }),
                },
                Upcasted {
                    event_type: "Arrived".into(),
                    schema_version: 1,
                    payload: json!({ "to": payload["to"] }),
                },
            ])
        })
        .register_drop("Pinged", 1)
}

/// Records the type and position of each event handed to it.
#[derive(Clone, Default)]
struct Seen {
    name: &'static str,
    filter: Option<EventFilter>,
    seen: Arc<Mutex<Vec<(String, u64)>>>,
}

#[async_trait]
impl Projection for Seen {
    fn name(&self) -> &str {
        self.name
    }

    fn filter(&self) -> EventFilter {
        self.filter
            .clone()
            .unwrap_or_else(|| EventFilter::all().categories(["trail"]))
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        event.decode::<TrailEvent>()?;
        self.seen
            .lock()
            .expect("lock")
            .push((event.event_type.clone(), event.stream_version));
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), BoxError> {
        self.seen.lock().expect("lock").clear();
        Ok(())
    }
}

/// One stored event split in two, one dropped, one untouched: the
/// repository folds, a subscription delivers and a projection runner
/// handles today's three events, the split ones at the stored event's
/// version; filters see today's types.
pub async fn upcasters_split_and_drop_events_for_every_reader(store: &dyn EventStore) {
    let trail = stream("trail-1");
    let stored = vec![
        EventData::json("Moved", br#"{"from":"a","to":"b"}"#.to_vec()),
        EventData::json("Pinged", b"{}".to_vec()),
        EventData::json("Noted", br#"{"text":"x"}"#.to_vec()),
    ];
    append_ok(store, &trail, ExpectedVersion::NoStream, stored).await;
    let today = [("Left", 1), ("Arrived", 1), ("Noted", 3)];

    let trails = Repository::<Trail, _>::new(store).with_upcasters(upcasters());
    let loaded = trails.load("1").await.expect("load through the upcasters");
    assert_eq!(loaded.state.log, ["left a", "arrived b", "noted x"]);
    assert_eq!(loaded.version, Some(3));

    let options = SubscriptionOptions::from_start()
        .with_upcasters(upcasters())
        .with_filter(EventFilter::all().categories(["trail"]));
    let delivered: Vec<(String, u64)> = store
        .subscribe(options)
        .take(3)
        .map(|e| {
            let e = e.expect("an event");
            (e.event_type, e.stream_version)
        })
        .collect()
        .await;
    let expected: Vec<(String, u64)> = today.iter().map(|(t, v)| ((*t).into(), *v)).collect();
    assert_eq!(
        delivered, expected,
        "the subscription delivers today's events"
    );

    let seen = Seen {
        name: "trail-all",
        ..Seen::default()
    };
    let mut runner = ProjectionRunner::new(store, seen.clone()).with_upcasters(upcasters());
    assert_eq!(runner.catch_up().await.expect("catch up"), 3);
    assert_eq!(
        *seen.seen.lock().expect("lock"),
        expected,
        "the runner hands over today's events"
    );

    let arrivals = Seen {
        name: "trail-arrivals",
        filter: Some(EventFilter::all().event_types(["Arrived"])),
        ..Seen::default()
    };
    let mut runner = ProjectionRunner::new(store, arrivals.clone()).with_upcasters(upcasters());
    assert_eq!(runner.catch_up().await.expect("catch up"), 1);
    assert_eq!(
        *arrivals.seen.lock().expect("lock"),
        [("Arrived".to_owned(), 1)],
        "a filter on today's type"
    );
}

/// An event stored in a schema version newer than the code's is refused
/// with [`SchemaTooNew`] in an [`Error::Decode`] naming its stream,
/// version and position, not decoded without the fields the code does not know.
pub async fn newer_schema_versions_are_refused(store: &dyn EventStore) {
    let trail = stream("trail-2");
    let newer =
        EventData::json("Noted", br#"{"text":"x","mood":"glad"}"#.to_vec()).with_schema_version(2);
    append_ok(store, &trail, ExpectedVersion::NoStream, vec![newer]).await;
    let trails = Repository::<Trail, _>::new(store);
    let error = trails.load("2").await.expect_err("too new");
    match &error {
        Error::Decode {
            event_type,
            schema_version,
            stream,
            stream_version,
            position,
            source,
        } => {
            assert!(position.is_some(), "the error names the position too");
            assert_eq!(
                (
                    event_type.as_str(),
                    *schema_version,
                    stream.as_ref(),
                    *stream_version
                ),
                ("Noted", 2, Some(&trail), Some(1))
            );
            assert_eq!(
                source.downcast_ref::<SchemaTooNew>(),
                Some(&SchemaTooNew {
                    stored: 2,
                    known: 1
                })
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("trail-2") && text.contains("newer than 1"),
        "the error reads well: {text}"
    );
}
