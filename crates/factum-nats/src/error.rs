//! [`NatsError`]: what can go wrong between the store and NATS, naming
//! what was wrong.

/// The error of the NATS side of factum.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// A subject prefix holds an empty token or a character other than
    /// ASCII letters, digits, `-` and `_`.
    #[error(
        "subject prefix {prefix:?} is invalid: it must be tokens of ASCII letters, digits, '-' and '_', separated by '.'"
    )]
    InvalidPrefix {
        /// The rejected prefix.
        prefix: String,
    },
    /// A message lacks a header an event needs.
    #[error("message on {subject} lacks the header {header}: not an event the relay published")]
    MissingHeader {
        /// The message's subject.
        subject: String,
        /// The header.
        header: &'static str,
    },
    /// A header's value does not read as what it carries.
    #[error("message on {subject}: header {header} = {value:?} is invalid: {reason}")]
    InvalidHeader {
        /// The message's subject.
        subject: String,
        /// The header.
        header: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// NATS failed or refused a request.
    #[error("NATS failed while {operation} (JetStream stream {stream}): {reason}")]
    Nats {
        /// The JetStream stream.
        stream: String,
        /// What the relay was doing.
        operation: String,
        /// What NATS said.
        reason: String,
    },
    /// The JetStream stream exists but does not capture the relay's
    /// subjects.
    #[error("JetStream stream {stream} captures {subjects:?}, not {expected}")]
    StreamMismatch {
        /// The JetStream stream.
        stream: String,
        /// The subjects the relay publishes to.
        expected: String,
        /// The subjects it captures.
        subjects: Vec<String>,
    },
    /// A publish landed elsewhere than where it was meant to: someone else
    /// publishes to the stream.
    #[error(
        "JetStream stream {stream}: a publish expected at sequence {expected} landed at {got} (duplicate: {duplicate}); is another publisher writing to it?"
    )]
    UnexpectedSequence {
        /// The JetStream stream.
        stream: String,
        /// Where it was meant to land.
        expected: u64,
        /// Where it landed.
        got: u64,
        /// Whether JetStream called it a duplicate.
        duplicate: bool,
    },
    /// A projection's handler failed on an event read from NATS; the event
    /// and the rest of its batch were given back unacknowledged.
    #[error("projection {projection} failed on the event at {position}: {reason}")]
    Handler {
        /// The projection.
        projection: String,
        /// The event's position.
        position: factum_core::GlobalPosition,
        /// The handler's error.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(factum_core::Error),
    /// The test server could not be started or reached.
    #[error("NATS test server: {0}")]
    TestServer(String),
}

impl NatsError {
    /// A [`NatsError::Nats`]: NATS failed while `operation`, on the
    /// JetStream stream `stream`.
    pub(crate) fn nats(stream: &str, operation: &str, source: impl std::fmt::Display) -> Self {
        Self::Nats {
            stream: stream.to_owned(),
            operation: operation.to_owned(),
            reason: source.to_string(),
        }
    }
}
