//! [`ReadOptions`]: which part of a stream to read, and in which direction.

/// Which way a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// Which events of a stream to read. Versions are inclusive bounds; a limit
/// caps the count after the bounds are applied, from the start of the chosen
/// direction.
///
/// ```
/// use factum_core::{Direction, ReadOptions};
///
/// // The three newest events at or below version 10.
/// let opts = ReadOptions::default().to_version(10).limit(3).backward();
/// assert_eq!(opts.direction, Direction::Backward);
/// assert!(opts.contains(10) && !opts.contains(11));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// Lowest version to read (inclusive); `None`: from the first.
    pub from_version: Option<u64>,
    /// Highest version to read (inclusive); `None`: to the last.
    pub to_version: Option<u64>,
    /// At most this many events; `None`: no limit.
    pub limit: Option<usize>,
    /// Oldest first or newest first.
    pub direction: Direction,
}

impl ReadOptions {
    /// Every event, oldest first.
    pub fn all() -> Self {
        Self::default()
    }

    /// Reads from `version` (inclusive).
    pub fn from_version(mut self, version: u64) -> Self {
        self.from_version = Some(version);
        self
    }

    /// Reads up to `version` (inclusive).
    pub fn to_version(mut self, version: u64) -> Self {
        self.to_version = Some(version);
        self
    }

    /// Reads at most `limit` events.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Reads newest first.
    pub fn backward(mut self) -> Self {
        self.direction = Direction::Backward;
        self
    }

    /// Whether `version` lies within the bounds (the limit aside).
    pub fn contains(&self, version: u64) -> bool {
        self.from_version.is_none_or(|from| version >= from)
            && self.to_version.is_none_or(|to| version <= to)
    }

    /// The lowest and highest version within the bounds, as an inclusive
    /// range (`1..=u64::MAX` when unbounded).
    pub fn version_range(&self) -> (u64, u64) {
        (
            self.from_version.unwrap_or(1).max(1),
            self.to_version.unwrap_or(u64::MAX),
        )
    }
}
