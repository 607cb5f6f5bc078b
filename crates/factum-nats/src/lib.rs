//! NATS JetStream for factum: the events of the global feed as JetStream
//! messages, one per event, and back.
//!
//! - [`Relay`] publishes a store's global feed to a JetStream stream,
//!   each event exactly once and in feed order, across crashes, dropped
//!   connections and NATS restarts.
//! - An event's subject is `{prefix}.{category}.{event_type}`
//!   ([`SubjectPrefix`], tokens escaped reversibly), its envelope the
//!   message's headers, its payload's bytes the body ([`envelope`], which
//!   also rebuilds the event from a message).
//! - [`JetStreamFeed`] reads them back through a durable consumer, on
//!   machines without access to the database, and feeds a projection,
//!   acknowledging each event after its handler succeeded.
//! - [`testing`] starts a throwaway `nats-server -js` for tests.
//!
//! ```
//! use factum_core::{EventData, GlobalPosition, RecordedEvent, StreamId};
//! use factum_nats::{SubjectPrefix, envelope};
//!
//! let data = EventData::json("Placed", br#"{"total":7}"#.to_vec());
//! let event = RecordedEvent::from_data(data, StreamId::new("order-1").unwrap(), 1, GlobalPosition::from_parts(0, 1), chrono::Utc::now());
//! let subject = SubjectPrefix::default().subject(&event.stream_id, &event.event_type);
//! let headers = envelope::headers(&event);
//! let back = envelope::event_from_message(&subject, &headers, &event.payload)?;
//! assert_eq!((subject.as_str(), back), ("factum.order.Placed", event));
//! # Ok::<(), factum_nats::NatsError>(())
//! ```

mod consumer;
pub mod envelope;
mod error;
mod escape;
mod relay;
mod subject;
pub mod testing;

/// The NATS client this crate is built on, in the version it uses: connect
/// with `async_nats::connect`.
pub use async_nats;
pub use consumer::{FeedMessage, JetStreamFeed};
pub use error::NatsError;
pub use relay::{Relay, RelayOptions};
pub use subject::SubjectPrefix;
