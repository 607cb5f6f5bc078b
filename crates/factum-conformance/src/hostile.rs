//! Rows altered behind factum's back (by a superuser bypassing the
//! immutability triggers): what every read path must then report. A
//! backend's test stores a few events, corrupts one row with SQL of its
//! own, and calls these checks; they panic (they are tests) when a read
//! yields the corrupt event, fails with an error that does not name it, or
//! panics.

use async_trait::async_trait;
use factum_core::{
    BoxError, Direction, Error, EventData, EventStore, ExpectedVersion, GlobalPosition, Projection,
    ProjectionError, ProjectionRunner, ReadOptions, RecordedEvent, RetryPolicy, StreamId,
    Subscribe, SubscriptionOptions,
};
use futures::{StreamExt, TryStreamExt};

use crate::account::AccountEvent;

/// The stream the checks' events are in.
pub const STREAM: &str = "hostile-1";

/// Stores three account deposits in [`STREAM`] (versions 1 to 3), valid
/// until a test corrupts one; returns the second one's position.
pub async fn store_deposits(store: &dyn EventStore) -> GlobalPosition {
    let events = (1..=3)
        .map(|n| {
            let body = format!(r#"{{"Deposited":{{"amount":{n}}}}}"#);
            EventData::json("Deposited", body.into_bytes())
        })
        .collect();
    let stream = StreamId::new(STREAM).expect("a valid stream id");
    let result = store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .expect("the events are stored");
    result.events[1].position()
}

/// The corrupt row, as the reads must name it.
#[derive(Debug, Clone)]
pub struct CorruptRow {
    /// Its stream.
    pub stream: StreamId,
    /// Its global position.
    pub position: GlobalPosition,
    /// Its version, `None` when the version itself is what was corrupted
    /// (stream reads, which select by version, then do not see the row).
    pub stream_version: Option<u64>,
    /// Whether a column that stream reads of payloads select was
    /// corrupted (the format or the payload, not only the metadata).
    pub in_payload_columns: bool,
}

impl CorruptRow {
    /// The second event [`store_deposits`] stored, at `position`, with its
    /// version intact or not.
    pub fn second(
        position: GlobalPosition,
        in_payload_columns: bool,
        version_intact: bool,
    ) -> Self {
        Self {
            stream: StreamId::new(STREAM).expect("a valid stream id"),
            position,
            stream_version: version_intact.then_some(2),
            in_payload_columns,
        }
    }
}

/// Asserts `error` is [`Error::CorruptEvent`] naming `row` (its position
/// too when `with_position`).
#[track_caller]
pub fn assert_names(error: &Error, row: &CorruptRow, with_position: bool) {
    let Error::CorruptEvent {
        position,
        stream,
        stream_version,
        ..
    } = error
    else {
        panic!("expected Error::CorruptEvent naming {row:?}, got {error:?}");
    };
    assert_eq!(stream.as_deref(), Some(row.stream.as_str()), "{error}");
    assert_eq!(*stream_version, row.stream_version, "{error}");
    if with_position {
        assert_eq!(*position, Some(row.position), "{error}");
        assert!(error.to_string().contains(&row.position.to_string()));
    }
}

/// Stream reads both ways, the feed, a subscription and the core
/// projection runner all fail with [`Error::CorruptEvent`] naming `row`;
/// the events before it in the stream are read.
pub async fn reads_report_corrupt_event(store: &dyn EventStore, row: &CorruptRow) {
    if let Some(version) = row.stream_version {
        for options in [
            ReadOptions::all(),
            ReadOptions::all().with_direction(Direction::Backward),
        ] {
            let read: Vec<_> = store
                .read_stream_events(&row.stream, options)
                .collect()
                .await;
            let error = read
                .iter()
                .find_map(|r| r.as_ref().err())
                .unwrap_or_else(|| panic!("reading {} yielded no error", row.stream));
            assert_names(error, row, true);
            assert!(
                read.iter()
                    .filter_map(|r| r.as_ref().ok())
                    .all(|e| e.stream_version != version),
                "the corrupt event was yielded"
            );
        }
        let payloads: Result<Vec<_>, _> = store
            .read_stream_payloads(&row.stream, ReadOptions::all())
            .try_collect()
            .await;
        match payloads {
            Err(error) if row.in_payload_columns => assert_names(&error, row, false),
            Ok(_) if !row.in_payload_columns => {}
            other => panic!("reading payloads of {}: {other:?}", row.stream),
        }
    }
    let error = store
        .read_all(GlobalPosition::START, 100)
        .await
        .expect_err("the feed yields no corrupt event");
    assert_names(&error, row, true);

    let mut subscription = store.subscribe(SubscriptionOptions::from_start());
    let error = loop {
        match subscription.next().await {
            Some(Err(error)) => break error,
            Some(Ok(event)) => assert!(event.position < row.position, "read past the corrupt row"),
            None => panic!("the subscription ended"),
        }
    };
    drop(subscription);
    assert_names(&error, row, true);

    let mut runner = ProjectionRunner::new(store, Counting::default());
    match runner.catch_up().await {
        Err(ProjectionError::Store { source, .. }) => assert_names(&source, row, true),
        other => panic!("the runner went past the corrupt row: {other:?}"),
    }
}

/// The event at `position` is stored fine but its payload does not decode
/// as the event type it names: the core projection runner, whose handler
/// decodes it, stops with a handler error naming the position, whose
/// source, an [`Error::Decode`], names it too.
pub async fn runner_names_undecodable_payload(store: &dyn EventStore, position: GlobalPosition) {
    let mut runner = ProjectionRunner::new(store, Counting::default()).with_retry(RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    });
    match runner.catch_up().await {
        Err(ProjectionError::Handler {
            position: at,
            source,
            ..
        }) => {
            assert_eq!(at, position);
            let decode = source.downcast_ref::<Error>();
            assert!(
                matches!(
                    decode,
                    Some(Error::Decode { position: Some(p), .. }) if *p == position
                ),
                "{source:?}"
            );
        }
        other => panic!("the runner went past the undecodable event: {other:?}"),
    }
}

/// Decodes `event` as one of the suite's account events, as a handler
/// would (for runners of a backend's own, such as an exactly-once runner).
pub fn decode_account_event(event: &RecordedEvent) -> Result<(), Error> {
    event.decode::<AccountEvent>().map(drop)
}

/// A projection that decodes every event as an account event.
#[derive(Default)]
struct Counting {
    decoded: u64,
}

#[async_trait]
impl Projection for Counting {
    fn name(&self) -> &str {
        "hostile-rows"
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        decode_account_event(event)?;
        self.decoded += 1;
        Ok(())
    }
}
