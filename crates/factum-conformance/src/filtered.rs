//! Filtered feed reads: `read_feed` hands over exactly the events its
//! filter lets through, in order, and says how far it looked, so a reader
//! on a sparse filter moves forward and never skips a match; a filtered
//! subscription delivers the same.

use futures::StreamExt;

use super::support::{append_ok, event, stream, whole_feed};
use factum_core::{
    EventFilter, EventStore, ExpectedVersion, GlobalPosition, RecordedEvent, Subscribe,
    SubscriptionOptions,
};

/// Reads the whole feed through `filter`, `limit` at a time, resuming after
/// each page's `scanned_to`; the events and the number of calls.
async fn read_through(
    store: &dyn EventStore,
    filter: &EventFilter,
    limit: usize,
) -> (Vec<RecordedEvent>, usize) {
    let mut after = GlobalPosition::START;
    let mut events = Vec::new();
    for calls in 1.. {
        let page = store
            .read_feed(after, limit, filter)
            .await
            .expect("read_feed");
        assert!(page.events.len() <= limit, "at most the limit");
        if let (Some(last), Some(scanned)) = (page.events.last(), page.scanned_to) {
            assert!(last.position <= scanned, "scanned_to covers the events");
        }
        let next = page.next_after(after);
        events.extend(page.events);
        if page.at_end {
            return (events, calls);
        }
        assert!(
            next > after,
            "a page that is not at the end moves the reader forward"
        );
        after = next;
    }
    unreachable!()
}

/// Over a feed where few events match (types, categories, both), reading
/// with `read_feed` page by page yields exactly the matching events of the
/// whole feed, in order, each once; a filter nothing matches reaches the
/// end too.
pub async fn filtered_reads_return_every_match_and_move_forward(store: &dyn EventStore) {
    for i in 0..30u64 {
        let kind = if i % 10 == 3 { "Rare" } else { "Common" };
        let name = if i % 7 == 0 {
            format!("flt-rare-{i}")
        } else {
            format!("flt-{}", i % 4)
        };
        append_ok(
            store,
            &stream(&name),
            ExpectedVersion::Any,
            vec![event(kind, i)],
        )
        .await;
    }
    let filters = [
        EventFilter::all().event_types(["Rare"]),
        EventFilter::all().categories(["flt-rare"]),
        EventFilter::all()
            .categories(["flt"])
            .event_types(["Rare", "Missing"]),
        EventFilter::all().event_types(["Missing"]),
        EventFilter::all(),
    ];
    reads_match_the_feed(store, &filters, &[1, 2, 1000]).await;
}

/// Reading the whole feed through each of `filters`, `limit` at a time for
/// each of `limits`, yields exactly the events of the feed it matches, in
/// order, each once.
async fn reads_match_the_feed(store: &dyn EventStore, filters: &[EventFilter], limits: &[usize]) {
    let feed = whole_feed(store, 100).await;
    for filter in filters {
        let expected: Vec<GlobalPosition> = feed
            .iter()
            .filter(|e| filter.matches(e))
            .map(|e| e.position)
            .collect();
        for &limit in limits {
            let (events, _) = read_through(store, filter, limit).await;
            let got: Vec<GlobalPosition> = events.iter().map(|e| e.position).collect();
            assert_eq!(got, expected, "filter {filter:?}, limit {limit}");
        }
    }
}

/// Filters whose categories overlap (one holds another's streams), repeat
/// a type or category, hold '-' or other bytes around it, or are empty,
/// read each matching event once, in order, with pages of several sizes: the
/// matches of most lie 25 or more events apart, so that a backend which
/// finds sparse matches through indexes does so here.
pub async fn overlapping_and_repeated_filters_read_every_match_once(store: &dyn EventStore) {
    let streams = [
        "ovl",
        "ovl-1",
        "ovl-",
        "ovl-order",
        "ovl-order-7",
        "ovl-order-7-1",
        "ovl-orderx-1",
        "ovl+1",
        "ovl.x",
        "ovlx-1",
        "ov-1",
        "-lone",
    ];
    for i in 0..400_u64 {
        // The first three streams often, each other one every 225 events.
        let name = if i % 25 == 0 {
            streams[3 + (i as usize / 25) % (streams.len() - 3)]
        } else {
            streams[i as usize % 3]
        };
        let kind = if i % 50 == 7 { "Rare" } else { "Common" };
        append_ok(
            store,
            &stream(name),
            ExpectedVersion::Any,
            vec![event(kind, i)],
        )
        .await;
    }
    let filters = [
        EventFilter::all().categories(["ovl", "ovl-order"]),
        EventFilter::all().categories(["ovl-order", "ovl-order-7"]),
        EventFilter::all().categories(["ovl-order-7", "ovl-order", "ovl-order"]),
        EventFilter::all().categories(["ovl-order", "ov", "-lone", ""]),
        EventFilter::all().categories(["ovl-orderx", "ovlx", "ovl.x", "ovl+1"]),
        EventFilter::all().categories(Vec::<String>::new()),
        EventFilter::all().event_types(["Rare", "Rare"]),
        EventFilter::all().event_types(["Common", "Rare"]),
        EventFilter::all().event_types(Vec::<String>::new()),
        EventFilter::all()
            .event_types(["Rare", "Missing"])
            .categories(["ovl-order", "ovl", "ov"]),
    ];
    reads_match_the_feed(store, &filters, &[2, 7, 500]).await;
}

/// A filtered subscription delivers exactly the matching events, live ones
/// included.
pub async fn filtered_subscriptions_deliver_only_matches(store: &dyn EventStore) {
    append_ok(
        store,
        &stream("sub-flt-1"),
        ExpectedVersion::Any,
        vec![event("Common", 1)],
    )
    .await;
    append_ok(
        store,
        &stream("sub-flt-1"),
        ExpectedVersion::Any,
        vec![event("Rare", 2)],
    )
    .await;
    let options = SubscriptionOptions::from_start()
        .with_filter(EventFilter::all().event_types(["Rare"]))
        .with_batch_size(1);
    let mut subscription = store.subscribe(options);
    let first = subscription
        .next()
        .await
        .expect("an item")
        .expect("an event");
    assert_eq!(first.event_type, "Rare");
    for i in 3..8 {
        append_ok(
            store,
            &stream("sub-flt-2"),
            ExpectedVersion::Any,
            vec![event("Common", i)],
        )
        .await;
    }
    append_ok(
        store,
        &stream("sub-flt-2"),
        ExpectedVersion::Any,
        vec![event("Rare", 9)],
    )
    .await;
    let live = tokio::time::timeout(std::time::Duration::from_secs(20), subscription.next())
        .await
        .expect("the live match arrives")
        .expect("an item")
        .expect("an event");
    assert_eq!(
        (live.event_type.as_str(), live.stream_id.as_str()),
        ("Rare", "sub-flt-2")
    );
}
