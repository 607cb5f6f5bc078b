//! [`CorrelationStatus`]: what a correlation group must look like before
//! an event is injected.

use std::fmt;

use crate::version::ExpectedVersion;

/// What a correlation group must look like before an event is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationStatus {
    /// The group must not exist yet (a request opens it).
    New,
    /// The group must exist (a response joins it).
    Exists,
    /// No check.
    Any,
}

impl CorrelationStatus {
    /// The stream expectation the status maps to.
    pub fn expected_version(self) -> ExpectedVersion {
        match self {
            Self::New => ExpectedVersion::NoStream,
            Self::Exists => ExpectedVersion::StreamExists,
            Self::Any => ExpectedVersion::Any,
        }
    }
}

impl fmt::Display for CorrelationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::New => "must not exist yet",
            Self::Exists => "must exist",
            Self::Any => "may be in any state",
        })
    }
}
