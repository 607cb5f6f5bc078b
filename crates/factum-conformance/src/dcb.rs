//! Tags, queries across streams and conditional appends (the Dynamic
//! Consistency Boundary model): tags come back as written and filter the
//! feed, `read_query` returns every match up to its position, and
//! `append_if` fails, naming the first conflicting event and writing
//! nothing, exactly when a matching event was stored after that position.

use super::support::{append_ok, event, stream, whole_feed};
use factum_core::{
    AppendCondition, Error, EventData, EventFilter, EventQuery, EventStore, ExpectedVersion,
    GlobalPosition, QueryItem, StreamAppend, Tag,
};

/// A tag from a literal known to be valid.
pub(super) fn tag(name: &str) -> Tag {
    Tag::new(name).expect("test tags are valid")
}

/// An event of `kind` carrying `tags`.
pub(super) fn tagged(kind: &str, n: u64, tags: &[&str]) -> EventData {
    event(kind, n).with_tags(tags.iter().map(|t| tag(t)))
}

/// Tags come back on every read as written, and a filter with tags lets
/// through exactly the events carrying all of them.
pub async fn tags_are_stored_and_filter_the_feed(store: &dyn EventStore) {
    let (a, b) = (stream("enrol-a"), stream("enrol-b"));
    append_ok(
        store,
        &a,
        ExpectedVersion::NoStream,
        vec![
            tagged("Subscribed", 1, &["course:c1", "student:s1"]),
            tagged("Subscribed", 2, &["course:c2", "student:s1"]),
            event("Untagged", 3),
        ],
    )
    .await;
    append_ok(
        store,
        &b,
        ExpectedVersion::NoStream,
        vec![
            tagged("CourseDefined", 4, &["course:c1"]),
            tagged("Subscribed", 5, &["student:s2", "course:c1"]),
        ],
    )
    .await;

    let feed = whole_feed(store, 100).await;
    let tags_of = |n: usize| -> Vec<&str> { feed[n].tags.iter().map(Tag::as_str).collect() };
    assert_eq!(
        tags_of(0),
        ["course:c1", "student:s1"],
        "tags in written order"
    );
    assert_eq!(tags_of(2), Vec::<&str>::new(), "an untagged event has none");
    assert_eq!(tags_of(4), ["student:s2", "course:c1"]);
    let stream_b = store
        .read_stream(&b, factum_core::ReadOptions::all())
        .await
        .expect("stream reads");
    assert_eq!(
        stream_b[1].tags, feed[4].tags,
        "stream reads carry tags too"
    );

    let matching = |filter: EventFilter| {
        let feed = &feed;
        async move {
            let page = store
                .read_feed(GlobalPosition::START, 100, &filter)
                .await
                .expect("read_feed with tags");
            assert!(page.at_end, "five events fit one page");
            let found: Vec<u64> = page
                .events
                .iter()
                .map(|e| {
                    feed.iter()
                        .position(|f| f.position == e.position)
                        .expect("in feed") as u64
                })
                .collect();
            found
        }
    };
    assert_eq!(
        matching(EventFilter::all().tags([tag("course:c1")])).await,
        [0, 3, 4],
        "a tag selects its events in every stream"
    );
    assert_eq!(
        matching(EventFilter::all().tags([tag("course:c1"), tag("student:s1")])).await,
        [0],
        "several tags: events carrying all of them"
    );
    assert_eq!(
        matching(
            EventFilter::all()
                .tags([tag("course:c1")])
                .event_types(["Subscribed"])
        )
        .await,
        [0, 4],
        "tags and types together"
    );
    assert_eq!(
        matching(
            EventFilter::all()
                .tags([tag("course:c1")])
                .categories(["enrol"])
        )
        .await,
        [0, 3, 4]
    );
    assert!(
        matching(EventFilter::all().tags([tag("course:none")]))
            .await
            .is_empty()
    );
}

/// `read_query` returns the events matching any item, in feed order, and a
/// position at or after the last of them; events stored later lie after it.
pub async fn read_query_returns_matches_across_streams(store: &dyn EventStore) {
    let empty = store
        .read_query(&EventQuery::all())
        .await
        .expect("read_query on an empty store");
    assert!(empty.events.is_empty());
    assert_eq!(empty.position, GlobalPosition::START);

    let (a, b) = (stream("course-c1"), stream("student-s1"));
    append_ok(
        store,
        &a,
        ExpectedVersion::NoStream,
        vec![tagged("CourseDefined", 1, &["course:c1"])],
    )
    .await;
    append_ok(
        store,
        &b,
        ExpectedVersion::NoStream,
        vec![tagged("Registered", 2, &["student:s1"])],
    )
    .await;
    append_ok(
        store,
        &b,
        ExpectedVersion::Exact(1),
        vec![
            tagged("Subscribed", 3, &["course:c1", "student:s1"]),
            event("Noise", 4),
        ],
    )
    .await;
    let query = EventQuery::item(
        QueryItem::types(["CourseDefined", "Subscribed"]).with_tag(tag("course:c1")),
    )
    .or(QueryItem::types(["Registered"]));
    let read = store.read_query(&query).await.expect("read_query");
    let types: Vec<&str> = read.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["CourseDefined", "Registered", "Subscribed"],
        "every match, in feed order, once"
    );
    let last = read.events.last().expect("matches").position;
    assert!(
        read.position >= last,
        "the read's position covers its events"
    );
    assert_eq!(read.query, query);

    let later = append_ok(
        store,
        &a,
        ExpectedVersion::Any,
        vec![tagged("CourseDefined", 5, &["course:c1"])],
    )
    .await;
    assert!(
        later.events[0].position() > read.position,
        "an event stored after the read lies after its position"
    );
    let none = store
        .read_query(&EventQuery::new())
        .await
        .expect("empty query reads");
    assert!(
        none.events.is_empty(),
        "a query without items matches nothing"
    );
}

/// A condition fails, naming the first matching event stored after its
/// position, and writes nothing; events that do not match, or that lie at
/// or before the position, do not fail it; a successful conditional append
/// is atomic across streams; a retried one is reported as duplicates.
pub async fn conditional_append_fails_exactly_on_a_newer_match(store: &dyn EventStore) {
    let course = tag("course:c9");
    let query = EventQuery::item(QueryItem::types(["Subscribed"]).with_tag(course.clone()));
    let (x, y, z) = (stream("sub-x"), stream("sub-y"), stream("sub-z"));
    append_ok(
        store,
        &x,
        ExpectedVersion::NoStream,
        vec![tagged("Subscribed", 1, &["course:c9"])],
    )
    .await;
    let read = store.read_query(&query).await.expect("read_query");
    assert_eq!(read.events.len(), 1);

    // Not matching: another type, another tag. The condition still holds.
    append_ok(
        store,
        &y,
        ExpectedVersion::Any,
        vec![tagged("Unsubscribed", 2, &["course:c9"])],
    )
    .await;
    append_ok(
        store,
        &y,
        ExpectedVersion::Any,
        vec![tagged("Subscribed", 3, &["course:c8"])],
    )
    .await;
    let both = vec![
        StreamAppend::new(
            x.clone(),
            ExpectedVersion::Exact(1),
            vec![tagged("Noted", 4, &[])],
        ),
        StreamAppend::new(
            z.clone(),
            ExpectedVersion::NoStream,
            vec![tagged("Noted", 5, &[]).with_idempotency_key("cond-ok")],
        ),
    ];
    let written = store
        .append_if(both.clone(), read.condition())
        .await
        .expect("a condition no newer event breaks holds");
    assert_eq!(written.len(), 2, "both streams written");
    let retried = store
        .append_if(
            vec![StreamAppend::new(
                z.clone(),
                ExpectedVersion::NoStream,
                vec![tagged("Noted", 5, &[]).with_idempotency_key("cond-ok")],
            )],
            AppendCondition::none_match(EventQuery::all()),
        )
        .await
        .expect("a retried conditional append is all duplicates");
    assert!(retried[0].events[0].is_duplicate());

    // Two matching events after the read: the first is named.
    let first = append_ok(
        store,
        &y,
        ExpectedVersion::Any,
        vec![tagged("Subscribed", 6, &["course:c9", "x:1"])],
    )
    .await;
    append_ok(
        store,
        &z,
        ExpectedVersion::Any,
        vec![tagged("Subscribed", 7, &["course:c9"])],
    )
    .await;
    let feed_before = whole_feed(store, 100).await.len();
    let refused = store
        .append_if(
            vec![StreamAppend::new(
                stream("sub-w"),
                ExpectedVersion::NoStream,
                vec![tagged("Subscribed", 8, &["course:c9"])],
            )],
            read.condition(),
        )
        .await;
    match refused {
        Err(Error::ConditionFailed {
            after,
            position,
            stream: s,
            stream_version,
            event_type,
        }) => {
            assert_eq!(after, read.position);
            assert_eq!(
                position,
                first.events[0].position(),
                "the first conflicting event"
            );
            assert_eq!(
                (s, stream_version, event_type.as_str()),
                (y.clone(), 3, "Subscribed")
            );
        }
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
    assert_eq!(
        whole_feed(store, 100).await.len(),
        feed_before,
        "nothing was written"
    );

    // Read again: the decision is now made on the new facts and holds.
    let again = store.read_query(&query).await.expect("read_query");
    assert_eq!(again.events.len(), 3);
    store
        .append_if(
            vec![StreamAppend::new(
                stream("sub-w"),
                ExpectedVersion::NoStream,
                vec![tagged("Subscribed", 8, &["course:c9"])],
            )],
            again.condition(),
        )
        .await
        .expect("a condition read after the newest match holds");

    // A condition on no event at all: fails as soon as one matches anywhere.
    let claimed = EventQuery::item(QueryItem::tags([tag("name:ada")]));
    let claim = |n| {
        StreamAppend::new(
            stream(&format!("user-{n}")),
            ExpectedVersion::NoStream,
            vec![tagged("NameClaimed", n, &["name:ada"])],
        )
    };
    store
        .append_if(vec![claim(1)], AppendCondition::none_match(claimed.clone()))
        .await
        .expect("the first claim holds");
    let second = store
        .append_if(vec![claim(2)], AppendCondition::none_match(claimed))
        .await;
    assert!(
        matches!(&second, Err(e) if e.is_condition_failed()),
        "a second claim fails: {second:?}"
    );
    assert!(
        store
            .stream_version(&stream("user-2"))
            .await
            .expect("version")
            .is_none(),
        "the failed claim wrote nothing"
    );
}
