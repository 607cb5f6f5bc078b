//! Reading by recorded time: ranged reads of the feed
//! ([`read_all_between`](factum_core::EventReader::read_all_between)) and time travel
//! ([`Repository::load_at_time`]), and the property both rest on: within a
//! stream a later version never carries an earlier time, so a read bounded
//! by a time never leaves out an event recorded at or before it.
//!
//! [`assert_time_bounds_hold`] is public so that a backend's own tests can
//! check it after a scenario the suite cannot stage (PostgreSQL: an
//! `append_in` transaction held open across a concurrent append).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use factum_core::aggregate::{Aggregate, Repository};
use factum_core::{
    DomainEvent, EventData, EventFilter, EventStore, ExpectedVersion, GlobalPosition,
    RecordedEvent, StreamAppend, StreamId, TimeRange,
};
use serde::{Deserialize, Serialize};

use super::concurrency::race;
use super::support::{append_ok, whole_feed};

/// The category of the streams the tally aggregate of these checks folds: `tally-<id>`.
pub const CATEGORY: &str = "tally";

/// The stream of tally `id`.
pub fn tally_stream(id: &str) -> StreamId {
    StreamId::new(format!("{CATEGORY}-{id}")).expect("tally stream ids are valid")
}

/// An event a tally counts, carrying `n`.
pub fn tally_event(n: u64) -> EventData {
    EventData::json("Counted", format!(r#"{{"n":{n}}}"#).into_bytes())
}

/// A count of the events of one tally stream, for time travel.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Tally {
    counted: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counted {
    n: u64,
}

impl DomainEvent for Counted {
    const EVENT_TYPES: &'static [&'static str] = &["Counted"];

    fn event_type(&self) -> &'static str {
        "Counted"
    }
}

impl Aggregate for Tally {
    const CATEGORY: &'static str = CATEGORY;
    type Event = Counted;
    type Command = u64;
    type Error = Infallible;

    fn apply(&mut self, _: &Counted) {
        self.counted += 1;
    }

    fn handle(&self, n: u64) -> Result<Vec<Counted>, Infallible> {
        Ok(vec![Counted { n }])
    }
}

/// Every event `read_all_between(range)` yields after `after`, paged
/// `limit` at a time.
async fn read_range(
    store: &dyn EventStore,
    range: TimeRange,
    mut after: GlobalPosition,
    limit: usize,
) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    loop {
        let page = store
            .read_all_between(range, after, limit)
            .await
            .expect("a ranged feed read");
        assert!(
            page.len() <= limit,
            "read_all_between returned more than its limit"
        );
        let short = page.len() < limit;
        if let Some(last) = page.last() {
            after = last.position;
        }
        all.extend(page);
        if short {
            return all;
        }
    }
}

/// Every event `read_feed_between(range)` yields after `after` through a
/// filter on the tally category, paged two at a time by how far each page
/// looked.
async fn read_filtered_range(
    store: &dyn EventStore,
    range: TimeRange,
    mut after: GlobalPosition,
) -> Vec<RecordedEvent> {
    let filter = EventFilter::all().categories([CATEGORY]);
    let mut all = Vec::new();
    for _ in 0..1000 {
        let page = store
            .read_feed_between(range, after, 2, &filter)
            .await
            .expect("a filtered ranged feed read");
        assert!(
            page.events.len() <= 2,
            "read_feed_between returned more than its limit"
        );
        after = page.next_after(after);
        all.extend(page.events);
        if page.at_end {
            return all;
        }
    }
    panic!("a filtered ranged read of a few events never reached the end");
}

fn positions(events: &[RecordedEvent]) -> Vec<GlobalPosition> {
    events.iter().map(|e| e.position).collect()
}

/// The whole feed's events that lie after `after` and in `range`.
fn expected(
    feed: &[RecordedEvent],
    range: TimeRange,
    after: GlobalPosition,
) -> Vec<GlobalPosition> {
    feed.iter()
        .filter(|e| e.position > after && range.contains(&e.recorded_at))
        .map(|e| e.position)
        .collect()
}

/// Checks, over everything the store holds: within each stream recorded
/// times never go back as versions go up; and at every recorded time `t`,
/// a ranged read of `..=t` yields exactly the feed's events recorded at or
/// before `t`, which are, in each stream, its first versions, and
/// `load_at_time(t)` of each tally stream folds exactly those.
pub async fn assert_time_bounds_hold(store: &dyn EventStore) {
    let feed = whole_feed(store, 100).await;
    let mut streams: BTreeMap<StreamId, Vec<&RecordedEvent>> = BTreeMap::new();
    for event in &feed {
        streams
            .entry(event.stream_id.clone())
            .or_default()
            .push(event);
    }
    for events in streams.values_mut() {
        events.sort_by_key(|e| e.stream_version);
        for pair in events.windows(2) {
            assert!(
                pair[0].recorded_at <= pair[1].recorded_at,
                "stream {}: version {} was recorded at {}, before version {} at {}",
                pair[1].stream_id,
                pair[1].stream_version,
                pair[1].recorded_at,
                pair[0].stream_version,
                pair[0].recorded_at,
            );
        }
    }
    let tallies = Repository::<Tally, _>::new(store);
    let mut times: Vec<DateTime<Utc>> = feed.iter().map(|e| e.recorded_at).collect();
    times.sort();
    times.dedup();
    for at in times {
        let range = TimeRange::until(at);
        let read = read_range(store, range, GlobalPosition::START, 7).await;
        assert_eq!(
            positions(&read),
            expected(&feed, range, GlobalPosition::START),
            "a read of the feed up to {at} is not the events recorded by then"
        );
        for (stream, events) in &streams {
            let by_then = events.iter().filter(|e| e.recorded_at <= at).count() as u64;
            let first: Vec<u64> = events
                .iter()
                .filter(|e| e.recorded_at <= at)
                .map(|e| e.stream_version)
                .collect();
            assert_eq!(
                first,
                (1..=by_then).collect::<Vec<_>>(),
                "stream {stream}: the events recorded by {at} are not its first versions"
            );
            let Some(id) = tallies.aggregate_id(stream) else {
                continue;
            };
            let loaded = tallies.load_at_time(id, at).await.expect("time travel");
            assert_eq!(
                loaded.state.counted, by_then,
                "load_at_time({at}) of {stream} left out events recorded by then"
            );
        }
    }
}

/// Ranged feed reads yield exactly the feed's events recorded in the range
/// (each end included, excluded or open as built), after the given
/// position, in position order, paged by the last position read; through
/// a filter, exactly those the filter lets through.
pub async fn range_reads_select_by_recorded_time(store: &dyn EventStore) {
    let (a, b, c) = (tally_stream("a"), tally_stream("b"), tally_stream("c"));
    let note = StreamId::new("note-1").expect("a valid stream id");
    for n in 0..4 {
        for s in [&a, &b, &c] {
            append_ok(store, s, ExpectedVersion::Any, vec![tally_event(n)]).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let noted = EventData::json("Noted", b"{}".to_vec());
        append_ok(store, &note, ExpectedVersion::Any, vec![noted]).await;
    }
    let both = store
        .append_many(vec![
            StreamAppend::new(
                a.clone(),
                ExpectedVersion::Any,
                vec![tally_event(9), tally_event(10)],
            ),
            StreamAppend::new(b.clone(), ExpectedVersion::Any, vec![tally_event(11)]),
        ])
        .await
        .expect("a multi-stream append");
    let feed = whole_feed(store, 100).await;
    assert_eq!(feed.len(), 19);
    let last_append: Vec<_> = feed
        .iter()
        .filter(|e| {
            both.iter()
                .flat_map(|r| &r.events)
                .any(|o| o.position() == e.position)
        })
        .map(|e| e.recorded_at)
        .collect();
    assert_eq!(last_append.len(), 3);
    assert!(
        last_append.windows(2).all(|w| w[0] == w[1]),
        "the events of one append carry different times: {last_append:?}"
    );

    let mut times: Vec<DateTime<Utc>> = feed.iter().map(|e| e.recorded_at).collect();
    times.sort();
    times.dedup();
    assert!(
        times.len() >= 4,
        "appends 2 ms apart share their times: {times:?}"
    );
    let (first, last) = (times[0], times[times.len() - 1]);
    let middle = feed[feed.len() / 2].position;
    let mut ranges = vec![
        TimeRange::all(),
        TimeRange::new(..first),
        TimeRange::new(last..),
        TimeRange::new((Bound::Excluded(last), Bound::Unbounded)),
        TimeRange::new(last..first),
    ];
    for pair in times.windows(3) {
        let (from, to) = (pair[0], pair[2]);
        ranges.extend([
            TimeRange::new(from..to),
            TimeRange::new(from..=to),
            TimeRange::new((Bound::Excluded(from), Bound::Included(to))),
            TimeRange::new((Bound::Excluded(from), Bound::Excluded(to))),
            TimeRange::new(..to),
            TimeRange::new(from..),
            TimeRange::new(from..=from),
        ]);
    }
    for range in ranges {
        for after in [GlobalPosition::START, middle] {
            let wanted = expected(&feed, range, after);
            for limit in [2, 100] {
                let read = read_range(store, range, after, limit).await;
                assert_eq!(
                    positions(&read),
                    wanted,
                    "{range:?} after {after}, {limit} at a time"
                );
            }
            let tallies: Vec<_> = feed
                .iter()
                .filter(|e| e.stream_id.category() == CATEGORY && wanted.contains(&e.position))
                .map(|e| e.position)
                .collect();
            let filtered = read_filtered_range(store, range, after).await;
            assert_eq!(
                positions(&filtered),
                tallies,
                "{range:?} after {after}, tallies only"
            );
        }
    }
    let none = store
        .read_all_between(TimeRange::all(), GlobalPosition::START, 0)
        .await
        .expect("a ranged read of no events");
    assert!(none.is_empty(), "a limit of 0 returned events");
    assert_time_bounds_hold(store).await;
}

/// 16 tasks append to one stream at once, some together with a second
/// stream: afterwards no later version carries an earlier time, and every
/// read bounded by a recorded time agrees with the events recorded by then.
pub async fn recorded_times_never_go_back_within_a_stream(store: &Arc<dyn EventStore>) {
    race(store, |store, task| async move {
        for i in 0..3 {
            let mut appends = vec![StreamAppend::new(
                tally_stream("raced"),
                ExpectedVersion::Any,
                vec![tally_event(task * 10 + i)],
            )];
            if task % 4 == 0 {
                appends.push(StreamAppend::new(
                    tally_stream(&format!("beside-{i}")),
                    ExpectedVersion::Any,
                    vec![tally_event(task)],
                ));
            }
            store.append_many(appends).await.expect("an Any append");
        }
    })
    .await;
    assert_time_bounds_hold(&**store).await;
}
