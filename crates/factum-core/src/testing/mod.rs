//! Test support for code built on factum: [`RecordedEventBuilder`] makes
//! stored events without a store (to feed a projection or an upcaster in a
//! unit test), and the `assert_*` functions check lists of stored events, as
//! read from a stream or the feed, naming the offending event when they fail.
//!
//! ```
//! use factum_core::RecordedEvent;
//! use factum_core::testing::{assert_contiguous_versions, assert_event_types, assert_increasing_positions};
//!
//! let opened = RecordedEvent::builder().with_stream_id("account-1").with_event_type("Opened").build();
//! let deposited = RecordedEvent::builder()
//!     .with_stream_id("account-1")
//!     .with_stream_version(2)
//!     .with_event_type("Deposited")
//!     .with_json_payload(serde_json::json!({ "amount": 5 }))
//!     .build();
//! let events = vec![opened, deposited];
//!
//! assert_event_types(&events, &["Opened", "Deposited"]);
//! assert_contiguous_versions(&events, 1);
//! assert_increasing_positions(&events);
//! ```
//!
//! For an aggregate's logic alone, see
//! [`AggregateTest`](crate::aggregate::AggregateTest); the memory store's
//! `Faults` make a store fail and lag on purpose.

mod assertions;
mod builder;

pub use assertions::{assert_contiguous_versions, assert_event_types, assert_increasing_positions};
pub use builder::RecordedEventBuilder;

#[cfg(test)]
mod tests;
