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
    /// The test server could not be started or reached.
    #[error("NATS test server: {0}")]
    TestServer(String),
}
