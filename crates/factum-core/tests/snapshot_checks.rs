//! `AggregateTest`'s snapshot checks: a state that a snapshot does not
//! carry whole, and a state whose snapshot shape changed while
//! `SNAPSHOT_VERSION` stayed, are caught; a sound one passes.

use factum_core::DomainEvent;
use factum_core::aggregate::{Aggregate, AggregateTest};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Added(u32);

impl DomainEvent for Added {
    const EVENT_TYPES: &'static [&'static str] = &["Added"];
    fn event_type(&self) -> &'static str {
        "Added"
    }
}

/// Declares an aggregate over `Added` whose state is `$state`.
macro_rules! counter {
    ($state:ident, $version:expr, $apply:expr) => {
        impl Aggregate for $state {
            const CATEGORY: &'static str = "counter";
            const SNAPSHOT_VERSION: u32 = $version;
            type Event = Added;
            type Command = ();
            type Error = std::convert::Infallible;
            fn apply(&mut self, event: &Added) {
                #[allow(clippy::redundant_closure_call)]
                ($apply)(self, event.0)
            }
            fn handle(&self, (): ()) -> Result<Vec<Added>, Self::Error> {
                Ok(vec![])
            }
        }
    };
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Sound {
    total: u32,
}
counter!(Sound, 1, |s: &mut Sound, n| s.total += n);

/// Counts additions in a field the snapshot leaves out.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Forgetful {
    total: u32,
    #[serde(skip)]
    additions: u32,
}
counter!(Forgetful, 1, |s: &mut Forgetful, n| {
    s.total += n;
    s.additions += 1;
});

/// `Sound` with a field added, SNAPSHOT_VERSION left at 1.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Grown {
    total: u32,
    #[serde(default)]
    largest: u32,
}
counter!(Grown, 1, |s: &mut Grown, n: u32| {
    s.total += n;
    s.largest = s.largest.max(n);
});

#[test]
fn a_sound_state_loads_back_and_matches_its_pin() {
    let state = AggregateTest::<Sound>::given([Added(2), Added(3)]).then_snapshot_loads_back();
    assert_eq!(state.total, 5);
    AggregateTest::<Sound>::given([Added(2), Added(3)]).then_snapshot_is(1, json!({ "total": 5 }));
}

#[test]
#[should_panic(expected = "does not load back to the state it was taken of")]
fn a_field_left_out_of_snapshots_is_caught() {
    AggregateTest::<Forgetful>::given([Added(2), Added(3)]).then_snapshot_loads_back();
}

#[test]
#[should_panic(expected = "bump SNAPSHOT_VERSION")]
fn a_shape_change_without_a_version_bump_is_caught() {
    // The pin written when the state was `Sound`-shaped.
    AggregateTest::<Grown>::given([Added(2), Added(3)]).then_snapshot_is(1, json!({ "total": 5 }));
}

#[test]
#[should_panic(expected = "update the pin")]
fn a_bumped_version_asks_for_a_new_pin() {
    AggregateTest::<Grown>::given([Added(2)])
        .then_snapshot_is(0, json!({ "total": 2, "largest": 2 }));
}
