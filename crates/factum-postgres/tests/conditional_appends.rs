//! Conditional appends on PostgreSQL meet concurrent writers through
//! advisory locks (migration 0010): a decision whose query matches an
//! event that an open transaction has written waits for that transaction,
//! then sees the event and fails; a decision on other facts, plain writers
//! and readers go on meanwhile, whether the open transaction wrote through
//! the one-statement path (no tag) or `append_events` (tags).

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use factum_core::{
    AppendCondition, Error, EventAppender, EventData, EventQuery, EventReader, ExpectedVersion,
    QueryItem, StreamAppend, Tag,
};
use factum_postgres::PostgresStore;
use sqlx::Connection;

mod common;

use common::feed::{impatient, stream};

fn typed(kind: &str) -> EventData {
    EventData::json(kind, b"{}".to_vec())
}

/// Waits until some backend waits for an advisory lock, or for the events
/// table (a decision on every event locks it): the racing decision is
/// queued, not finished.
async fn until_waiting_for_the_lock(store: &PostgresStore) {
    for _ in 0..2_000 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database()
               AND wait_event_type = 'Lock' AND wait_event IN ('advisory', 'relation')
               AND query LIKE '%append_events%'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the decision never waited for the open transaction's lock");
}

/// A decision on `query`, read before `held` was opened, races an open
/// transaction that wrote `matching`: it waits, others do not (when the
/// query leaves them out: `others_unrelated`), and once the transaction
/// commits the decision fails naming that event.
async fn decision_waits_for(matching: EventData, query: EventQuery, others_unrelated: bool) {
    let (store, _schema) = impatient().await;
    let read = store.read_query(&query).await.unwrap();

    let mut conn = store.pool().acquire().await.unwrap().detach();
    let mut held = conn.begin().await.unwrap();
    let append = StreamAppend::new(stream("held-1"), ExpectedVersion::Any, vec![matching]);
    let written = store.append_in(&mut held, vec![append]).await.unwrap();

    let decider = {
        let store = store.clone();
        let condition = read.condition();
        tokio::spawn(async move {
            let decided = StreamAppend::new(
                stream("decided-1"),
                ExpectedVersion::Any,
                vec![typed("Decided")],
            );
            store.append_if(vec![decided], condition).await
        })
    };
    until_waiting_for_the_lock(&store).await;
    assert!(
        !decider.is_finished(),
        "the decision waits for the open writer"
    );

    if others_unrelated {
        others_go_on(&store).await;
    }
    store.read_query(&query).await.unwrap();
    assert!(!decider.is_finished(), "still waiting");

    held.commit().await.unwrap();
    match decider.await.unwrap() {
        Err(Error::ConditionFailed {
            position,
            stream: s,
            ..
        }) => {
            assert_eq!(position, written[0].events[0].position());
            assert_eq!(s.as_str(), "held-1");
        }
        other => panic!("expected ConditionFailed once the writer committed, got {other:?}"),
    }
    assert_eq!(
        store.stream_version(&stream("decided-1")).await.unwrap(),
        None
    );
}

/// A plain writer, a decision on other facts and a reader of them, none of
/// which waits for a queued decision on facts they do not touch.
async fn others_go_on(store: &PostgresStore) {
    store
        .append(
            &stream("other-1"),
            ExpectedVersion::Any,
            vec![typed("Other")],
        )
        .await
        .unwrap();
    let others = EventQuery::item(QueryItem::types(["Unrelated"]));
    let unrelated = StreamAppend::new(
        stream("other-2"),
        ExpectedVersion::Any,
        vec![typed("Unrelated")],
    );
    store
        .append_if(vec![unrelated], AppendCondition::none_match(others.clone()))
        .await
        .unwrap();
    store.read_query(&others).await.unwrap();
}

#[tokio::test]
async fn a_decision_on_a_type_waits_for_an_open_plain_writer_of_it() {
    decision_waits_for(
        typed("Seat"),
        EventQuery::item(QueryItem::types(["Seat"])),
        true,
    )
    .await;
}

#[tokio::test]
async fn a_decision_on_a_tag_waits_for_an_open_writer_of_a_tagged_event() {
    let course = Tag::new("course:c1").unwrap();
    let subscribed =
        typed("Subscribed").with_tags([course.clone(), Tag::new("student:7").unwrap()]);
    let query =
        EventQuery::item(QueryItem::types(["Subscribed", "CourseDefined"]).with_tag(course));
    decision_waits_for(subscribed, query, true).await;
}

/// A query on every event matches every writer's events: here the others
/// would rightly wait, so only the decision is checked.
#[tokio::test]
async fn a_decision_on_everything_waits_for_any_open_writer() {
    decision_waits_for(typed("Anything"), EventQuery::all(), false).await;
}
