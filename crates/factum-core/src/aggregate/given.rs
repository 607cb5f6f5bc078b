//! [`AggregateTest`]: given events, when a command, then events or an error.
//! Runs an aggregate's pure logic without any store.

use std::fmt::Debug;

use super::logic::Aggregate;
use crate::category::AggregateCategory;

/// A test of an aggregate's `handle`: start from the state the given events
/// fold into, handle one command, and check what comes out. Each `then_*`
/// panics with both sides shown when the expectation is wrong.
///
/// ```
/// # use factum_core::aggregate::*;
/// # use factum_core::*;
/// # #[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
/// # struct Counter { n: u64 }
/// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct Added(u64);
/// # impl DomainEvent for Added {
/// #     const EVENT_TYPES: &'static [&'static str] = &["Added"];
/// #     fn event_type(&self) -> &'static str { "Added" }
/// # }
/// #[derive(Debug, PartialEq, thiserror::Error)]
/// #[error("the counter would pass 10")]
/// struct TooBig;
/// # impl Aggregate for Counter {
/// #     const CATEGORY: &'static str = "counter";
/// #     type Event = Added; type Command = u64; type Error = TooBig;
/// #     fn apply(&mut self, e: &Added) { self.n += e.0 }
/// #     fn handle(&self, by: u64) -> Result<Vec<Added>, TooBig> {
/// #         if self.n + by > 10 { Err(TooBig) } else { Ok(vec![Added(by)]) }
/// #     }
/// # }
/// AggregateTest::<Counter>::given([Added(4)]).when(5).then_events([Added(5)]);
/// AggregateTest::<Counter>::given([Added(8)]).when(5).then_error(TooBig);
/// ```
#[derive(Debug)]
pub struct AggregateTest<A> {
    state: A,
}

/// The outcome of [`AggregateTest::when`], to check with a `then_*`.
#[derive(Debug)]
pub struct AggregateOutcome<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> AggregateTest<A> {
    /// Starts from the state `events` fold into.
    pub fn given(events: impl IntoIterator<Item = A::Event>) -> Self {
        let mut state = A::default();
        events.into_iter().for_each(|e| state.apply(&e));
        Self { state }
    }

    /// Starts from the default state (no event).
    pub fn given_no_events() -> Self {
        Self {
            state: A::default(),
        }
    }

    /// Asserts that the state the given events fold into survives a
    /// snapshot: serialized as the repository stores snapshots (JSON) and
    /// loaded back, it equals the folded state. A field left out of the
    /// snapshot (`#[serde(skip)]`) or a lossy `Serialize` fails here,
    /// before a repository with snapshots loads wrong states. Returns the
    /// state.
    ///
    /// ```
    /// # use factum_core::aggregate::*;
    /// # use factum_core::*;
    /// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    /// # struct Added(u64);
    /// # impl DomainEvent for Added {
    /// #     const EVENT_TYPES: &'static [&'static str] = &["Added"];
    /// #     fn event_type(&self) -> &'static str { "Added" }
    /// # }
    /// #[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    /// struct Counter { n: u64 }
    /// # impl Aggregate for Counter {
    /// #     const CATEGORY: &'static str = "counter";
    /// #     type Event = Added; type Command = u64; type Error = std::convert::Infallible;
    /// #     fn apply(&mut self, e: &Added) { self.n += e.0 }
    /// #     fn handle(&self, by: u64) -> Result<Vec<Added>, Self::Error> { Ok(vec![Added(by)]) }
    /// # }
    /// AggregateTest::<Counter>::given([Added(4)]).then_snapshot_loads_back();
    /// // Its shape, pinned: change `Counter` without bumping SNAPSHOT_VERSION and this fails.
    /// AggregateTest::<Counter>::given([Added(4)]).then_snapshot_is(1, serde_json::json!({ "n": 4 }));
    /// ```
    #[track_caller]
    pub fn then_snapshot_loads_back(self) -> A
    where
        A: PartialEq + Debug,
    {
        let stored = match serde_json::to_value(&self.state) {
            Ok(stored) => stored,
            Err(e) => panic!(
                "the state {:?} cannot be stored as a snapshot: {e}",
                self.state
            ),
        };
        let loaded: A = match serde_json::from_value(stored.clone()) {
            Ok(loaded) => loaded,
            Err(e) => panic!("the snapshot {stored} does not load back: {e}"),
        };
        assert!(
            loaded == self.state,
            "a snapshot does not load back to the state it was taken of:\n  state  {:?}\n  loaded {loaded:?}\n  (stored as {stored})",
            self.state
        );
        self.state
    }

    /// Pins the shape of the state's snapshots: asserts that the
    /// aggregate's [`SNAPSHOT_VERSION`](Aggregate::SNAPSHOT_VERSION) is
    /// `version` and that the state the given events fold into is stored
    /// as `expected`. A change of the state's shape without a bump of
    /// `SNAPSHOT_VERSION` (which would load old snapshots into the new
    /// shape) fails here, saying so. Returns the state.
    #[track_caller]
    pub fn then_snapshot_is(self, version: u32, expected: serde_json::Value) -> A
    where
        A: Debug,
    {
        let stored = match serde_json::to_value(&self.state) {
            Ok(stored) => stored,
            Err(e) => panic!(
                "the state {:?} cannot be stored as a snapshot: {e}",
                self.state
            ),
        };
        assert!(
            A::SNAPSHOT_VERSION == version,
            "SNAPSHOT_VERSION is {}, the pinned snapshot is of version {version}: update the pin to the new shape ({stored})",
            A::SNAPSHOT_VERSION
        );
        assert!(
            stored == expected,
            "the snapshot's shape changed while SNAPSHOT_VERSION stayed {version}: bump SNAPSHOT_VERSION (old snapshots would load into the new shape) and pin the new shape\n  pinned {expected}\n  now    {stored}"
        );
        self.state
    }

    /// Handles `command` against the state. Like the repository, it checks
    /// `A::CATEGORY` at compile time, so a test of the aggregate's logic
    /// already fails to build on a category holding `-`.
    pub fn when(self, command: A::Command) -> AggregateOutcome<A> {
        let _checked = AggregateCategory::<A>::CHECKED;
        let result = self.state.handle(command);
        AggregateOutcome {
            state: self.state,
            result,
        }
    }
}

impl<A: Aggregate> AggregateOutcome<A>
where
    A::Event: PartialEq + Debug,
    A::Error: Debug,
{
    /// Asserts the command caused exactly `expected`, in order; returns the
    /// state after them for further checks.
    #[track_caller]
    pub fn then_events(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.result {
            Ok(events) if events == expected => {
                let mut state = self.state;
                events.iter().for_each(|e| state.apply(e));
                state
            }
            Ok(events) => panic!("expected events {expected:?}\n     but got {events:?}"),
            Err(e) => panic!("expected events {expected:?}\n but the command failed: {e:?}"),
        }
    }

    /// Asserts the command caused no event.
    #[track_caller]
    pub fn then_no_events(self) -> A {
        self.then_events([])
    }

    /// Asserts the command was refused with an error equal to `expected`.
    #[track_caller]
    pub fn then_error(self, expected: A::Error)
    where
        A::Error: PartialEq,
    {
        match self.result {
            Err(e) if e == expected => {}
            Err(e) => panic!("expected error {expected:?}\n   but got {e:?}"),
            Ok(events) => panic!("expected error {expected:?}\n but got events {events:?}"),
        }
    }

    /// Asserts the command was refused with an error for which `check`
    /// holds.
    #[track_caller]
    pub fn then_error_matches(self, check: impl FnOnce(&A::Error) -> bool) {
        match self.result {
            Err(e) if check(&e) => {}
            Err(e) => panic!("the error {e:?} is not the one expected"),
            Ok(events) => panic!("expected an error, but got events {events:?}"),
        }
    }
}
