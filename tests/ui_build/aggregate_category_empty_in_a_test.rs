//! An empty category fails the build already in a test of the aggregate's
//! logic, without any repository.

#[macro_use]
#[path = "common/aggregate.rs"]
mod aggregate;

use factum::aggregate::AggregateTest;

aggregate!(Counter, "");

fn main() {
    AggregateTest::<Counter>::given_no_events().when(()).then_events([Placed]);
}
