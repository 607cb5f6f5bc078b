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
/// direction. Like every options type of factum, it is set with `with_*`
/// and read with the option's bare name.
///
/// ```
/// use factum_core::{Direction, ReadOptions};
///
/// // The three newest events at or below version 10.
/// let opts = ReadOptions::default()
///     .with_to_version(10)
///     .with_limit(3)
///     .with_direction(Direction::Backward);
/// assert_eq!(opts.direction(), Direction::Backward);
/// assert_eq!(opts.limit(), Some(3));
/// assert!(opts.contains(10) && !opts.contains(11));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    from_version: Option<u64>,
    to_version: Option<u64>,
    limit: Option<usize>,
    direction: Direction,
}

impl ReadOptions {
    /// Every event, oldest first.
    pub fn all() -> Self {
        Self::default()
    }

    /// Reads from `version` (inclusive).
    pub fn with_from_version(mut self, version: u64) -> Self {
        self.from_version = Some(version);
        self
    }

    /// Reads up to `version` (inclusive).
    pub fn with_to_version(mut self, version: u64) -> Self {
        self.to_version = Some(version);
        self
    }

    /// Reads at most `limit` events.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Reads in `direction` (default: oldest first).
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Lowest version to read (inclusive); `None`: from the first.
    pub fn from_version(&self) -> Option<u64> {
        self.from_version
    }

    /// Highest version to read (inclusive); `None`: to the last.
    pub fn to_version(&self) -> Option<u64> {
        self.to_version
    }

    /// At most this many events; `None`: no limit.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// Oldest first or newest first.
    pub fn direction(&self) -> Direction {
        self.direction
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
