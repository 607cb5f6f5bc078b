//! A correlation set whose prefix is an aggregate's category: whichever
//! comes second to a stream is refused with `Error::CategoryShared`, and
//! the stream keeps one kind of event.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use factum_core::aggregate::{ExecuteError, Repository};
use factum_core::{
    CategoryUser, CorrelatedSet, CorrelationStatus, DomainEvent, Error, EventStore, InjectEvents,
    InjectableEvent, ReadOptions,
};

use super::account::{Account, AccountCommand};
use super::support::stream;

/// A correlation set whose groups are named like `Account`'s streams.
struct AccountRequests;

impl CorrelatedSet for AccountRequests {
    const PREFIX: &'static str = "account";
}

/// What is asked of an account, injected into the group of
/// [`AccountRequests`] as an [`Opening`] or a [`Joining`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AccountRequested {
    account: String,
    opens: bool,
}

/// The group must not exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Opening(AccountRequested);

/// The group must exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Joining(AccountRequested);

macro_rules! injectable {
    ($type:ident, $status:ident) => {
        impl DomainEvent for $type {
            const EVENT_TYPES: &'static [&'static str] = &["AccountRequested"];
            fn event_type(&self) -> &'static str {
                "AccountRequested"
            }
        }

        impl InjectableEvent for $type {
            type Set = AccountRequests;
            const STATUS: CorrelationStatus = CorrelationStatus::$status;
            fn idempotency_key(&self) -> String {
                format!("{}-{}-{}", self.event_type(), self.0.account, self.0.opens)
            }
            fn correlation_id(&self) -> String {
                format!("{}-{}", AccountRequests::PREFIX, self.0.account)
            }
        }
    };
}

injectable!(Opening, New);
injectable!(Joining, Exists);

fn requested(account: &str, opens: bool) -> AccountRequested {
    AccountRequested {
        account: account.to_owned(),
        opens,
    }
}

/// Asserts `error` is the shared category of `name`, refused to `refused`
/// (an aggregate or a correlation set), which found `found` there.
fn assert_shared(error: &Error, name: &str, aggregate: bool, found: &str) {
    let Error::CategoryShared {
        stream: shared,
        refused,
        found: found_type,
    } = error
    else {
        panic!("expected the category shared on {name}, got {error:?}");
    };
    assert_eq!(shared.as_str(), name);
    assert_eq!(found_type, found);
    match refused {
        CategoryUser::Aggregate(type_name) => {
            assert!(aggregate, "{error}");
            assert!(type_name.ends_with("::Account"), "{type_name}");
        }
        CategoryUser::CorrelationSet(type_name) => {
            assert!(!aggregate, "{error}");
            assert!(type_name.ends_with("::AccountRequests"), "{type_name}");
        }
    }
    let text = error.to_string();
    assert!(
        text.contains(name) && text.contains(found) && text.contains("\"account\""),
        "{text}"
    );
}

/// The number of events of `name`.
async fn count(store: &dyn EventStore, name: &str) -> usize {
    store
        .read_stream(&stream(name), ReadOptions::all())
        .await
        .expect("read")
        .len()
}

/// The aggregate first: injections into its stream, opening or joining,
/// are refused. The group first: the aggregate's commands and loads on its
/// stream are refused. Nothing is written either way.
pub async fn category_shared_by_an_aggregate_and_a_correlation_set_is_refused(
    store: &Arc<dyn EventStore>,
) {
    let accounts = Repository::<Account, _>::new(store.clone());
    accounts
        .execute("first", AccountCommand::Open)
        .await
        .expect("open");
    let joining = store
        .idempotent_inject_event(Joining(requested("first", false)))
        .await
        .expect_err("the stream is an aggregate's");
    assert_shared(&joining, "account-first", false, "Opened");
    let opening = store
        .idempotent_inject_event(Opening(requested("first", true)))
        .await
        .expect_err("the stream is an aggregate's");
    assert_shared(&opening, "account-first", false, "Opened");
    assert_eq!(count(&**store, "account-first").await, 1);
    accounts
        .execute("first", AccountCommand::Deposit(5))
        .await
        .expect("the aggregate goes on");

    store
        .idempotent_inject_event(Opening(requested("second", true)))
        .await
        .expect("a group opens where no aggregate is");
    match accounts.execute("second", AccountCommand::Open).await {
        Err(ExecuteError::Store(error)) => {
            assert_shared(&error, "account-second", true, "AccountRequested");
        }
        other => panic!("expected the category shared on account-second, got {other:?}"),
    }
    let loading = accounts.load("second").await.expect_err("a group");
    assert_shared(&loading, "account-second", true, "AccountRequested");
    let travelling = accounts
        .load_at_time("second", chrono::Utc::now())
        .await
        .expect_err("a group");
    assert_shared(&travelling, "account-second", true, "AccountRequested");
    assert_eq!(count(&**store, "account-second").await, 1);
    store
        .idempotent_inject_event(Joining(requested("second", false)))
        .await
        .expect("the group goes on");
}
