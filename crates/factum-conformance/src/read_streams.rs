//! Reading several streams as of one point of the global feed
//! (`EventReader::read_streams`): versions as of the point, missing
//! streams, and no stream's view newer than another's under a concurrent
//! writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::TryStreamExt;

use super::support::{append_ok, event, events, stream};
use factum_core::{
    EventStore, ExpectedVersion, GlobalPosition, ReadOptions, RecordedEvent, StreamAppend,
    StreamId, StreamView,
};

/// A stream view's events, read to the end.
async fn drain(view: StreamView<'_>) -> Vec<RecordedEvent> {
    let stream = view.stream().clone();
    view.into_events()
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("reading stream {stream} of a view failed: {e}"))
}

/// Asserts that `events` are versions 1..=`version` of one stream, none
/// after `position`.
fn assert_prefix(
    events: &[RecordedEvent],
    version: Option<u64>,
    position: Option<GlobalPosition>,
    s: &StreamId,
) {
    let versions: Vec<u64> = events.iter().map(|e| e.stream_version).collect();
    let expected: Vec<u64> = (1..=version.unwrap_or(0)).collect();
    assert_eq!(
        versions, expected,
        "stream {s} of a view at version {version:?} gave other versions"
    );
    for e in events {
        assert!(
            Some(e.position) <= position,
            "stream {s}: event {} at {} lies after the view's point {position:?}",
            e.stream_version,
            e.position
        );
    }
}

/// Several streams read at once, each with its version as of the head when
/// the read started: events appended after it (even before the events are
/// polled) are left out; a stream that does not exist has version `None`
/// and no events; an empty store has no point.
pub async fn read_streams_reads_each_stream_as_of_one_point(store: &dyn EventStore) {
    let (a, b, missing) = (
        stream("several-a"),
        stream("several-b"),
        stream("several-none"),
    );

    let only_a = [a.clone()];
    let empty = store.read_streams(&only_a).await.expect("read_streams");
    assert_eq!(empty.position(), None, "an empty store has no point");
    let views: Vec<_> = empty.into_iter().collect();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].version(), None);
    let none = store.read_streams(&[]).await.expect("read_streams of none");
    assert!(none.streams().is_empty() && none.position().is_none());

    append_ok(store, &a, ExpectedVersion::NoStream, events(3, 1)).await;
    append_ok(store, &b, ExpectedVersion::NoStream, events(2, 1)).await;
    store
        .append_many(vec![
            StreamAppend::new(a.clone(), ExpectedVersion::Exact(3), vec![event("Both", 1)]),
            StreamAppend::new(b.clone(), ExpectedVersion::Exact(2), vec![event("Both", 1)]),
        ])
        .await
        .expect("multi-stream append");
    let head = store.head_position().await.expect("head");

    let asked = [a.clone(), missing.clone(), b.clone()];
    let view = store.read_streams(&asked).await.expect("read_streams");
    assert_eq!(view.position(), head, "the point is the feed's head");
    let position = view.position();
    let versions: Vec<_> = view.streams().iter().map(|v| v.version()).collect();
    assert_eq!(
        versions,
        [Some(4), None, Some(3)],
        "versions as of the point"
    );
    let ids: Vec<_> = view.streams().iter().map(|v| v.stream().clone()).collect();
    assert_eq!(ids, asked, "streams come back in the order given");

    // Written after the point, before a single event of the view is read.
    append_ok(store, &a, ExpectedVersion::Exact(4), events(2, 5)).await;
    append_ok(store, &b, ExpectedVersion::Exact(3), events(1, 4)).await;
    append_ok(store, &missing, ExpectedVersion::NoStream, events(1, 1)).await;

    for stream_view in view {
        let (s, version) = (stream_view.stream().clone(), stream_view.version());
        let got = drain(stream_view).await;
        assert_prefix(&got, version, position, &s);
        let stored = store
            .read_stream(&s, ReadOptions::all().with_to_version(version.unwrap_or(0)))
            .await
            .expect("read_stream");
        let expected = if version.is_some() {
            stored
        } else {
            Vec::new()
        };
        assert_eq!(
            got, expected,
            "stream {s} of the view differs from read_stream"
        );
    }

    let later = store.read_streams(&asked).await.expect("read_streams");
    let versions: Vec<_> = later.streams().iter().map(|v| v.version()).collect();
    assert_eq!(
        versions,
        [Some(6), Some(1), Some(4)],
        "a later point sees the later appends"
    );
    let all: Vec<(String, u64)> = later
        .into_events()
        .map_ok(|e| (e.stream_id.to_string(), e.stream_version))
        .try_collect()
        .await
        .expect("into_events");
    let expected: Vec<(String, u64)> = [(&a, 6), (&missing, 1), (&b, 4)]
        .iter()
        .flat_map(|(s, n)| (1..=*n).map(move |v| (s.to_string(), v)))
        .collect();
    assert_eq!(
        all, expected,
        "into_events: stream after stream, each by version"
    );
}

/// Rounds the writer appends before the readers start: more than a page of
/// each stream.
const PREFILLED: u64 = 600;
/// Views read while the writer runs.
const VIEWS: usize = 12;

/// Stops the writer when dropped, also when a check fails.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A writer appends one event to each of two streams per round, in one
/// atomic append; while it runs, views of both streams are read lazily, the
/// writer making progress between taking a view and reading each stream.
/// Every view shows both streams at the same round, has no event after its
/// point, and is no older than the rounds finished before it was taken.
pub async fn read_streams_never_shows_one_stream_newer_than_another(store: &Arc<dyn EventStore>) {
    let (a, b) = (stream("rounds-a"), stream("rounds-b"));
    let streams = [a.clone(), b.clone()];
    store
        .append_many(vec![
            StreamAppend::new(a.clone(), ExpectedVersion::NoStream, events(PREFILLED, 1)),
            StreamAppend::new(b.clone(), ExpectedVersion::NoStream, events(PREFILLED, 1)),
        ])
        .await
        .expect("prefill");
    let round = move |n: u64| {
        vec![
            StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![event("Round", n)]),
            StreamAppend::new(b.clone(), ExpectedVersion::Any, vec![event("Round", n)]),
        ]
    };

    let done_rounds = Arc::new(AtomicU64::new(PREFILLED));
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let writer = {
        let (store, done_rounds, stop) = (store.clone(), done_rounds.clone(), stop.0.clone());
        tokio::spawn(async move {
            let mut n = PREFILLED;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                store.append_many(round(n)).await.expect("a round appends");
                done_rounds.store(n, Ordering::SeqCst);
                // A memory store's append never waits: let the runtime in.
                tokio::task::yield_now().await;
            }
        })
    };
    let wait_for_round_after = |seen: u64| {
        let done_rounds = done_rounds.clone();
        async move {
            let waited = tokio::time::timeout(Duration::from_secs(20), async {
                while done_rounds.load(Ordering::SeqCst) <= seen {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
            waited.await.expect("the writer makes progress");
        }
    };

    for _ in 0..VIEWS {
        let finished_before = done_rounds.load(Ordering::SeqCst);
        let view = store.read_streams(&streams).await.expect("read_streams");
        let position = view.position();
        let mut seen = Vec::new();
        for stream_view in view {
            let (s, version) = (stream_view.stream().clone(), stream_view.version());
            let version_round = version.unwrap_or(0);
            assert!(
                version_round >= finished_before,
                "stream {s} at version {version_round} in a view taken after round \
                 {finished_before} was written"
            );
            // The writer goes on between the point and reading the stream.
            wait_for_round_after(done_rounds.load(Ordering::SeqCst)).await;
            let got = drain(stream_view).await;
            assert_prefix(&got, version, position, &s);
            seen.push((s, version_round, got.last().map(|e| e.payload.clone())));
        }
        let (first, second) = (&seen[0], &seen[1]);
        assert_eq!(
            (first.1, &first.2),
            (second.1, &second.2),
            "views of {} and {} show different rounds",
            first.0,
            second.0
        );
    }
    drop(stop);
    writer.await.expect("the writer finishes");

    let rounds = done_rounds.load(Ordering::SeqCst);
    let view = store.read_streams(&streams).await.expect("read_streams");
    let versions: Vec<_> = view.streams().iter().map(|v| v.version()).collect();
    assert_eq!(
        versions,
        [Some(rounds), Some(rounds)],
        "a quiet store's view is current"
    );
}
