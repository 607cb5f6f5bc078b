//! [`GlobalPosition`]: where an event sits in the global feed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An event's place in the global feed: opaque and totally ordered.
///
/// A position is a pair `(commit, sequence)`. Backends whose writers are
/// serialized (memory, SQLite) use `commit = 0` and a plain counter as the
/// sequence; PostgreSQL uses the writing transaction's id as `commit`, which is
/// what lets its feed stay final for readers (`docs/design.md`, guarantee
/// 5). Users compare positions, store them as checkpoints and hand them
/// back; they should not do arithmetic on them.
///
/// [`GlobalPosition::START`] lies before every event.
///
/// ```
/// use factum_core::GlobalPosition;
///
/// let a = GlobalPosition::from_parts(0, 1);
/// let b = GlobalPosition::from_parts(0, 2);
/// assert!(GlobalPosition::START < a && a < b);
/// assert_eq!(b.to_string().parse::<GlobalPosition>().unwrap(), b);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct GlobalPosition {
    commit: u64,
    sequence: u64,
}

impl GlobalPosition {
    /// The position before every event: read the feed after it to start at the
    /// beginning.
    pub const START: Self = Self {
        commit: 0,
        sequence: 0,
    };

    /// Builds a position from its two parts. Meant for backends and for
    /// restoring positions that were stored with [`Self::to_parts`].
    pub const fn from_parts(commit: u64, sequence: u64) -> Self {
        Self { commit, sequence }
    }

    /// The two parts `(commit, sequence)`, for storage.
    pub const fn to_parts(self) -> (u64, u64) {
        (self.commit, self.sequence)
    }
}

impl fmt::Display for GlobalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.commit, self.sequence)
    }
}

/// A string that is not a [`GlobalPosition`] written by its `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a global position (expected \"commit:sequence\")")]
pub struct ParsePositionError(pub String);

impl std::str::FromStr for GlobalPosition {
    type Err = ParsePositionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParsePositionError(s.to_owned());
        let (commit, sequence) = s.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            commit: commit.parse().map_err(|_| bad())?,
            sequence: sequence.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_commit_then_sequence() {
        let late_commit_low_seq = GlobalPosition::from_parts(7, 1);
        let early_commit_high_seq = GlobalPosition::from_parts(5, 100);
        assert!(early_commit_high_seq < late_commit_low_seq);
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!("12".parse::<GlobalPosition>().is_err());
        assert!("a:1".parse::<GlobalPosition>().is_err());
        assert_eq!("3:4".parse::<GlobalPosition>().unwrap().to_parts(), (3, 4));
    }
}
