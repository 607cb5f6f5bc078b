//! `read_streams` on PostgreSQL: the point is a final feed position, so an
//! open appending transaction keeps it behind; an atomic append to several
//! streams committed behind it is wholly out of the view, and wholly in a
//! later one once the writer has ended. A view taken before the writer
//! commits keeps its point while its events are read after the commit.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{
    EventAppender, EventReader, ExpectedVersion, RecordedEvent, StreamAppend, StreamId, StreamsView,
};
use futures::TryStreamExt;

mod common;

use common::feed::{event, impatient, patient, stream};

fn any(name: &str, n: u64) -> StreamAppend {
    StreamAppend::new(stream(name), ExpectedVersion::Any, vec![event(n)])
}

/// Each stream's version, then all of its events.
async fn read_out(view: StreamsView<'_>) -> Vec<(StreamId, Option<u64>, Vec<RecordedEvent>)> {
    let mut streams = Vec::new();
    for stream in view {
        let (id, version) = (stream.stream().clone(), stream.version());
        let events = stream.into_events().try_collect().await.unwrap();
        streams.push((id, version, events));
    }
    streams
}

#[tokio::test]
async fn an_open_writer_keeps_the_point_behind_and_atomic_appends_whole() {
    let (store, _schema) = impatient().await;
    let waiting = patient(&store);
    store.append_many(vec![any("before", 0)]).await.unwrap();
    let asked = [stream("before"), stream("a"), stream("b"), stream("held")];
    let before = waiting.read_streams(&asked).await.unwrap();
    let versions: Vec<_> = before.streams().iter().map(|s| s.version()).collect();
    assert_eq!(versions, [Some(1), None, None, None]);

    let mut held = store.pool().begin().await.unwrap();
    store
        .append_in(&mut held, vec![any("held", 1)])
        .await
        .unwrap();
    store
        .append_many(vec![any("a", 2), any("b", 3)])
        .await
        .unwrap();

    // Committed, but behind the open writer: not final, so not in the view
    // (nor is any part of it). Transactions of other tests may hold the
    // point further back: "before" is not checked here.
    let behind = store.read_streams(&asked).await.unwrap();
    let versions: Vec<_> = behind.streams()[1..].iter().map(|s| s.version()).collect();
    assert_eq!(
        versions,
        [None, None, None],
        "an event passed an open writer"
    );

    held.commit().await.unwrap();
    // Read after the commit, the earlier view keeps its point.
    for (id, version, events) in read_out(behind).await {
        assert_eq!(events.len() as u64, version.unwrap_or(0), "stream {id}");
    }
    let after = waiting.read_streams(&asked).await.unwrap();
    let point = after.position();
    let streams = read_out(after).await;
    for (id, version, events) in &streams {
        assert_eq!(*version, Some(1), "stream {id} after the writer ended");
        assert_eq!(events.len(), 1, "stream {id}");
        assert!(Some(events[0].position) <= point, "stream {id}");
    }
    assert_eq!(point, store.head_position().await.unwrap());
}
