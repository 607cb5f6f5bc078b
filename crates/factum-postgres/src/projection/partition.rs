//! [`Partition`]: one share of a projection's streams, so that several
//! runners can handle one projection side by side.

use std::fmt;

/// One of `count` shares of a projection's streams: a runner with
/// partition `index` handles only the events of streams whose partition
/// ([`Partition::of`]) is `index`, and keeps a checkpoint (and lease) of
/// its own. Events of one stream stay in order; events of different
/// partitions are handled in no particular order relative to each other.
///
/// Changing `count` changes which runner owns which stream and starts new
/// checkpoints: rebuild the read model then.
///
/// ```
/// use factum_postgres::Partition;
///
/// let p = Partition::new(1, 4)?;
/// assert_eq!(p.checkpoint_name("balances"), "balances/1-of-4");
/// assert!(Partition::of("account-7", 4) < 4);
/// assert!(Partition::new(4, 4).is_err());
/// # Ok::<(), factum_postgres::InvalidPartition>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Partition {
    /// Partition `index` of `count` (`index < count`, and `count` at most
    /// `i32::MAX`, as stored in `projection_leases.partition`).
    pub fn new(index: u32, count: u32) -> Result<Self, InvalidPartition> {
        if index < count && i32::try_from(count).is_ok() {
            Ok(Self { index, count })
        } else {
            Err(InvalidPartition { index, count })
        }
    }

    /// The partition of `stream` among `count` (0 when `count` is 0): the
    /// 64-bit FNV-1a hash of the stream id's bytes, modulo `count`. Stable
    /// across processes, platforms and versions.
    pub fn of(stream: &str, count: u32) -> u32 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let hash = stream
            .bytes()
            .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
        match u64::from(count) {
            0 => 0,
            n => u32::try_from(hash % n).unwrap_or(0),
        }
    }

    /// Whether events of `stream` belong to this partition.
    pub fn owns(&self, stream: &str) -> bool {
        Self::of(stream, self.count) == self.index
    }

    /// This partition's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many partitions there are.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The name its checkpoint is stored under: `<projection>/<index>-of-<count>`.
    pub fn checkpoint_name(&self, projection: &str) -> String {
        format!("{projection}/{}-of-{}", self.index, self.count)
    }

    /// The index as stored in `projection_leases.partition`.
    pub(crate) fn stored(&self) -> i32 {
        i32::try_from(self.index).unwrap_or(i32::MAX)
    }
}

/// A partition index not below the count, or a count above `i32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPartition {
    /// The index given.
    pub index: u32,
    /// The count given.
    pub count: u32,
}

impl fmt::Display for InvalidPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid partition {} of {}: the index must lie below the count, which must fit an i32",
            self.index, self.count
        )
    }
}

impl std::error::Error for InvalidPartition {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_spread_over_partitions_and_stay_put() {
        let mut seen = [0u32; 4];
        for i in 0..400 {
            let stream = format!("account-{i}");
            let p = Partition::of(&stream, 4);
            assert_eq!(p, Partition::of(&stream, 4));
            seen[p as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
        // FNV-1a of the empty string, as published.
        assert_eq!(
            Partition::of("", u32::MAX),
            (0xcbf2_9ce4_8422_2325u64 % u64::from(u32::MAX)) as u32
        );
    }
}
