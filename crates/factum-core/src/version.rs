//! [`ExpectedVersion`]: what a writer believes about a stream before it appends.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a writer expects of a stream's current version. Stream versions start
/// at 1 (the first event); a stream that has no event does not exist.
///
/// ```
/// use factum_core::ExpectedVersion;
///
/// assert!(ExpectedVersion::NoStream.matches(None));
/// assert!(ExpectedVersion::Exact(3).matches(Some(3)));
/// assert!(!ExpectedVersion::StreamExists.matches(None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check: append whatever the stream's state.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist (hold at least one event).
    StreamExists,
    /// The stream's current version must be exactly this one.
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream whose current version is `actual` (`None`: no
    /// stream) satisfies this expectation.
    pub fn matches(self, actual: Option<u64>) -> bool {
        match (self, actual) {
            (Self::Any, _) => true,
            (Self::NoStream, None) => true,
            (Self::NoStream, Some(_)) => false,
            (Self::StreamExists, actual) => actual.is_some(),
            (Self::Exact(expected), Some(actual)) => expected == actual,
            (Self::Exact(_), None) => false,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any version"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("an existing stream"),
            Self::Exact(v) => write!(f, "version {v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_matches_and_mismatches() {
        use ExpectedVersion::*;
        assert!(Any.matches(None) && Any.matches(Some(9)));
        assert!(NoStream.matches(None) && !NoStream.matches(Some(1)));
        assert!(StreamExists.matches(Some(1)) && !StreamExists.matches(None));
        assert!(Exact(2).matches(Some(2)) && !Exact(2).matches(Some(3)) && !Exact(2).matches(None));
    }

    #[test]
    fn check_names_stream_and_versions() {
        let stream = crate::StreamId::new("s-1").unwrap();
        let err = ExpectedVersion::Exact(4)
            .check(&stream, Some(6))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("s-1") && text.contains('4') && text.contains('6'),
            "{text}"
        );
    }
}
