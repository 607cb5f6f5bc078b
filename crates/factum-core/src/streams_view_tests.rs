//! The default `stream_versions` and `read_streams` of `EventReader`, on a
//! reader whose head lies below some stored events (as a PostgreSQL feed's
//! does while an older writer runs), directly and through `TracingStore`.

use async_trait::async_trait;
use futures::TryStreamExt;
use futures::executor::block_on;
use futures::stream::{self, BoxStream, StreamExt};

use crate::{
    Direction, EventData, EventReader, GlobalPosition, ReadOptions, RecordedEvent, Result,
    StreamId, TracingStore,
};

fn id(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

/// Events of `a` and `b`, interleaved in the feed, and a head that leaves
/// the last two out.
struct BehindHead {
    events: Vec<RecordedEvent>,
    head: Option<GlobalPosition>,
}

impl BehindHead {
    fn new(head: Option<u64>) -> Self {
        let names = ["a", "b", "a", "a", "b", "a"];
        let mut versions = std::collections::HashMap::new();
        let events = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let version = versions.entry(*name).or_insert(0);
                *version += 1;
                RecordedEvent::from_data(
                    EventData::json("E", b"{}".to_vec()),
                    id(name),
                    *version,
                    GlobalPosition::from_parts(0, i as u64 + 1),
                    chrono::Utc::now(),
                )
            })
            .collect();
        Self {
            events,
            head: head.map(|h| GlobalPosition::from_parts(0, h)),
        }
    }
}

#[async_trait]
impl EventReader for BehindHead {
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        let mut events: Vec<_> = self
            .events
            .iter()
            .filter(|e| &e.stream_id == stream && options.contains(e.stream_version))
            .cloned()
            .collect();
        if options.direction() == Direction::Backward {
            events.reverse();
        }
        stream::iter(events.into_iter().map(Ok)).boxed()
    }
    async fn read_all(&self, _: GlobalPosition, _: usize) -> Result<Vec<RecordedEvent>> {
        unimplemented!("not read by these tests")
    }
    async fn stream_version(&self, _: &StreamId) -> Result<Option<u64>> {
        unimplemented!("not read by these tests")
    }
    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        Ok(self.head)
    }
}

/// `(stream, version)` of every event of `reader`'s view of `streams`.
fn view_of(reader: &dyn EventReader, streams: &[StreamId]) -> Vec<(String, u64)> {
    block_on(async {
        reader
            .read_streams(streams)
            .await
            .unwrap()
            .into_events()
            .map_ok(|e| (e.stream_id.to_string(), e.stream_version))
            .try_collect()
            .await
            .unwrap()
    })
}

#[test]
fn default_versions_stop_at_the_head() {
    let streams = [id("a"), id("b"), id("c")];
    let at_four = block_on(BehindHead::new(Some(4)).stream_versions(&streams)).unwrap();
    assert_eq!(at_four.position, Some(GlobalPosition::from_parts(0, 4)));
    assert_eq!(at_four.versions, [Some(3), Some(1), None]);
    let at_one = block_on(BehindHead::new(Some(1)).stream_versions(&streams)).unwrap();
    assert_eq!(at_one.versions, [Some(1), None, None]);
    let empty = block_on(BehindHead::new(None).stream_versions(&streams)).unwrap();
    assert_eq!((empty.position, empty.versions), (None, vec![None; 3]));
}

#[test]
fn default_read_streams_reads_up_to_the_versions_at_the_head() {
    let streams = [id("b"), id("c"), id("a")];
    let expected = [("b", 1), ("a", 1), ("a", 2), ("a", 3)]
        .map(|(s, v)| (s.to_owned(), v))
        .to_vec();
    let reader = BehindHead::new(Some(4));
    assert_eq!(view_of(&reader, &streams), expected);
    let traced = TracingStore::new(BehindHead::new(Some(4)));
    assert_eq!(view_of(&traced, &streams), expected, "through TracingStore");
    let view = block_on(reader.read_streams(&streams)).unwrap();
    let debug = format!("{view:?}");
    assert!(
        debug.contains("version: Some(1)") && debug.contains("version: None"),
        "{debug}"
    );
}
