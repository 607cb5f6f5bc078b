//! Correlation and causation flowing through a process by themselves:
//! a request injected, two commands each handled in response to the event
//! before, and the injected response, all stored with the request's
//! correlation id and each naming its cause.

use std::sync::Arc;
use std::time::Duration;

use factum_core::aggregate::Repository;
use factum_core::{
    Direction, EventStore, InjectEvents, InjectableEvent, ReadOptions, RecordedEvent,
};

use super::account::{Account, AccountCommand, AccountEvent};
use super::inject::{Transfer, TransferAnswered, answer, request};
use super::support::stream;

/// The last event of `name`.
async fn last_event(store: &dyn EventStore, name: &str) -> RecordedEvent {
    let options = ReadOptions::all()
        .with_direction(Direction::Backward)
        .with_limit(1);
    store
        .read_stream(&stream(name), options)
        .await
        .expect("read")
        .pop()
        .unwrap_or_else(|| panic!("{name} has no event"))
}

/// Asserts `event` carries the flow's correlation id and names `cause`.
fn assert_caused(event: &RecordedEvent, correlation: &str, cause: &RecordedEvent) {
    assert_eq!(
        event.metadata.correlation_id.as_deref(),
        Some(correlation),
        "correlation of {}@{}",
        event.stream_id,
        event.stream_version
    );
    assert_eq!(
        event.metadata.causation_id,
        Some(cause.event_id.to_string()),
        "causation of {}@{}: its cause is {}@{}",
        event.stream_id,
        event.stream_version,
        cause.stream_id,
        cause.stream_version
    );
}

/// One transfer across three hops: the request, injected, opens its
/// group; a withdrawal handled in response to the request; a deposit
/// handled in response to the withdrawal; the response, injected into the
/// group. Every stored event has the group's correlation id, each names
/// the event before as its cause, and the response names its request by
/// itself (or the event it is injected as caused by).
pub async fn causation_flows_across_hops(store: &Arc<dyn EventStore>) {
    let accounts = Repository::<Account, _>::new(store.clone());
    for id in ["from", "to"] {
        accounts
            .execute(id, AccountCommand::Open)
            .await
            .expect("open");
    }
    accounts
        .execute("from", AccountCommand::Deposit(100))
        .await
        .expect("fund");

    // The request opens the group Transfer-40 and waits for its response.
    let waiting = store
        .idempotent_inject_event_and_wait::<Transfer, _>(&request(40, 40))
        .await
        .expect("request injected");
    let requested = last_event(&**store, "Transfer-40").await;
    assert_eq!(
        requested.metadata.correlation_id.as_deref(),
        Some("Transfer-40")
    );
    assert_eq!(
        requested.metadata.causation_id, None,
        "the flow starts here"
    );

    // Hop 1: a command handled in response to the request.
    let withdrawn = accounts
        .execute_caused_by("from", AccountCommand::Withdraw(10), &requested)
        .await
        .expect("withdraw");
    assert_eq!(withdrawn.events, [AccountEvent::Withdrawn { amount: 10 }]);
    let withdrawn = last_event(&**store, "account-from").await;
    assert_caused(&withdrawn, "Transfer-40", &requested);

    // Hop 2: a command handled in response to the withdrawal.
    accounts
        .execute_caused_by("to", AccountCommand::Deposit(10), &withdrawn)
        .await
        .expect("deposit");
    let deposited = last_event(&**store, "account-to").await;
    assert_caused(&deposited, "Transfer-40", &withdrawn);
    assert_eq!(accounts.aggregate_id(&deposited.stream_id), Some("to"));

    // Hop 3: the response, injected without a cause, names its request.
    store
        .idempotent_inject_event(&answer(41, 40))
        .await
        .expect("answer");
    let response = waiting
        .response(Duration::from_secs(10))
        .await
        .expect("the response");
    assert_eq!(
        response.decode::<TransferAnswered>().expect("decode"),
        answer(41, 40)
    );
    assert_caused(&response, "Transfer-40", &requested);

    // Given its cause, an injection names that one instead: a later answer
    // caused by the deposit, and a request caused by it in another group.
    store
        .idempotent_inject_event(answer(42, 40).caused_by(&deposited))
        .await
        .expect("answer caused by the deposit");
    assert_caused(
        &last_event(&**store, "Transfer-40").await,
        "Transfer-40",
        &deposited,
    );
    store
        .idempotent_inject_event_and_wait::<Transfer, _>(request(43, 43).caused_by(&response))
        .await
        .expect("request caused by the response");
    let follow_up = last_event(&**store, "Transfer-43").await;
    assert_eq!(
        follow_up.metadata.correlation_id.as_deref(),
        Some("Transfer-43"),
        "an injection's correlation id is its group's name"
    );
    assert_eq!(
        follow_up.metadata.causation_id,
        Some(response.event_id.to_string())
    );
}
