//! NATS JetStream for factum: the events of the global feed as JetStream
//! messages, one per event, and back.
//!
//! This first part holds what the relay and its consumers share: the
//! subject an event is published to ([`SubjectPrefix`]: `{prefix}.{category}.{event_type}`,
//! tokens escaped reversibly), its envelope as message headers with the
//! payload's bytes as the body ([`envelope`]), and a NATS server for tests
//! ([`testing`]).
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

pub mod envelope;
mod error;
mod escape;
mod subject;
pub mod testing;

pub use error::NatsError;
pub use subject::SubjectPrefix;
