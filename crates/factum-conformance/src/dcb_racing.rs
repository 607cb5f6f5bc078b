//! Deciders racing on facts spread over several streams: each reads a
//! query, decides, and appends with the read's condition, reading again
//! when the condition fails. Whatever the interleaving, the invariants the
//! decisions protect hold: one claim of a name, a course never over its
//! capacity, an account never overdrawn.

use std::sync::Arc;

use super::dcb::{tag, tagged};
use super::support::{stream, whole_feed};
use factum_core::{
    EventQuery, EventStore, ExpectedVersion, QueryItem, QueryRead, RecordedEvent, StreamAppend,
};

/// Reads `query`, lets `decide` choose the appends (none: the decision is
/// to write nothing), and appends them under the read's condition, again
/// and again until the condition holds. Whether something was written.
async fn decide_and_append(
    store: &dyn EventStore,
    query: &EventQuery,
    decide: impl Fn(&QueryRead) -> Option<Vec<StreamAppend>>,
) -> bool {
    loop {
        let read = store.read_query(query).await.expect("read_query");
        let Some(appends) = decide(&read) else {
            return false;
        };
        match store.append_if(appends, read.condition()).await {
            Ok(_) => return true,
            Err(e) if e.is_condition_failed() => tokio::task::yield_now().await,
            Err(e) => panic!("a racing decider failed: {e}"),
        }
    }
}

/// Runs `tasks` deciders at once, each its own tokio task; whether each
/// wrote.
async fn race_deciders<F, Fut>(store: &Arc<dyn EventStore>, tasks: u64, work: F) -> Vec<bool>
where
    F: Fn(Arc<dyn EventStore>, u64) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let handles: Vec<_> = (0..tasks)
        .map(|task| tokio::spawn(work(store.clone(), task)))
        .collect();
    let mut wrote = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(w) => wrote.push(w),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a racing decider was cancelled: {e}"),
        }
    }
    wrote
}

/// The number an event of `support::event` carries.
fn amount(event: &RecordedEvent) -> i64 {
    let value: serde_json::Value =
        serde_json::from_slice(&event.payload).expect("conformance payloads are JSON");
    value["n"].as_i64().expect("payload carries n")
}

/// An account's balance: its deposits less its withdrawals.
fn balance(events: &[RecordedEvent]) -> i64 {
    events
        .iter()
        .map(|e| {
            if e.event_type == "Withdrawn" {
                -amount(e)
            } else {
                amount(e)
            }
        })
        .sum()
}

/// 32 deciders claim one user name at once: exactly one wins.
pub async fn racing_deciders_claim_a_name_once(store: &Arc<dyn EventStore>) {
    let name = tag("username:ada");
    let query = EventQuery::item(QueryItem::types(["NameClaimed"]).with_tag(name.clone()));
    let wrote = race_deciders(store, 32, |store, task| {
        let query = query.clone();
        async move {
            decide_and_append(&*store, &query, |read| {
                read.events.is_empty().then(|| {
                    let claim = tagged("NameClaimed", task, &["username:ada"]);
                    vec![StreamAppend::new(
                        stream(&format!("user-{task}")),
                        ExpectedVersion::Any,
                        vec![claim],
                    )]
                })
            })
            .await
        }
    })
    .await;
    assert_eq!(
        wrote.iter().filter(|w| **w).count(),
        1,
        "exactly one claim wins"
    );
    let claims = whole_feed(&**store, 1000)
        .await
        .into_iter()
        .filter(|e| e.tags.contains(&name))
        .count();
    assert_eq!(claims, 1, "exactly one claim is stored");
}

/// 60 students subscribe at once to a course of capacity 10: exactly 10
/// subscriptions are stored.
pub async fn racing_students_fill_a_course_to_capacity(store: &Arc<dyn EventStore>) {
    const CAPACITY: usize = 10;
    let query = EventQuery::item(
        QueryItem::types(["CourseDefined", "StudentSubscribed"]).with_tag(tag("course:rust-101")),
    );
    let course = stream("course-rust-101");
    store
        .append(
            &course,
            ExpectedVersion::NoStream,
            vec![tagged(
                "CourseDefined",
                CAPACITY as u64,
                &["course:rust-101"],
            )],
        )
        .await
        .expect("course defined");
    let wrote = race_deciders(store, 60, |store, student| {
        let query = query.clone();
        async move {
            decide_and_append(&*store, &query, |read| {
                let capacity = read
                    .events
                    .iter()
                    .find(|e| e.event_type == "CourseDefined")
                    .map_or(0, |e| amount(e) as usize);
                let taken = read
                    .events
                    .iter()
                    .filter(|e| e.event_type == "StudentSubscribed")
                    .count();
                (taken < capacity).then(|| {
                    let student_tag = format!("student:{student}");
                    let subscribed = tagged(
                        "StudentSubscribed",
                        student,
                        &["course:rust-101", &student_tag],
                    );
                    vec![StreamAppend::new(
                        stream(&format!("student-{student}")),
                        ExpectedVersion::Any,
                        vec![subscribed],
                    )]
                })
            })
            .await
        }
    })
    .await;
    assert_eq!(
        wrote.iter().filter(|w| **w).count(),
        CAPACITY,
        "exactly the capacity got in"
    );
    let stored = whole_feed(&**store, 1000)
        .await
        .into_iter()
        .filter(|e| e.event_type == "StudentSubscribed")
        .count();
    assert_eq!(
        stored, CAPACITY,
        "exactly {CAPACITY} subscriptions are stored"
    );
}

/// Two transfers race on one account, round after round: the account is
/// never overdrawn, and one transfer of each round is refused for want of
/// money, never for a lost race.
pub async fn racing_transfers_never_overdraw(store: &Arc<dyn EventStore>) {
    for round in 0..8u64 {
        let from = format!("account:r{round}-from");
        let opened = tagged("Deposited", 100, &[&from]);
        store
            .append(
                &stream(&format!("account-r{round}-from")),
                ExpectedVersion::NoStream,
                vec![opened],
            )
            .await
            .expect("opening deposit");
        let query = EventQuery::item(QueryItem::tags([tag(&from)]));
        let wrote = race_deciders(store, 2, |store, to| {
            let (query, from) = (query.clone(), from.clone());
            async move {
                decide_and_append(&*store, &query, |read| {
                    let balance: i64 = balance(&read.events);
                    (balance >= 70).then(|| {
                        let to_tag = format!("account:r{round}-to{to}");
                        vec![
                            StreamAppend::new(
                                stream(&format!("account-r{round}-from")),
                                ExpectedVersion::Any,
                                vec![tagged("Withdrawn", 70, &[&from])],
                            ),
                            StreamAppend::new(
                                stream(&format!("account-r{round}-to{to}")),
                                ExpectedVersion::Any,
                                vec![tagged("Deposited", 70, &[&to_tag])],
                            ),
                        ]
                    })
                })
                .await
            }
        })
        .await;
        assert_eq!(
            wrote.iter().filter(|w| **w).count(),
            1,
            "round {round}: one transfer of 70 out of 100"
        );
        let read = store.read_query(&query).await.expect("read_query");
        let balance: i64 = balance(&read.events);
        assert_eq!(balance, 30, "round {round}: the account is never overdrawn");
    }
}
