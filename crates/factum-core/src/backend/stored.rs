//! factum's unsigned numbers (versions, positions, limits) and the signed
//! 64-bit integers SQL databases store.

/// A stored integer that must not be negative was: the row was not written
/// by factum, or was changed behind its back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the database holds {what} {value}, which is negative")]
pub struct NegativeStoredValue {
    /// What the value is, e.g. `"a stream version"`.
    pub what: &'static str,
    /// The stored value.
    pub value: i64,
}

/// A stored version, position or count as `u64`.
///
/// ```
/// use factum_core::backend::stored_u64;
///
/// assert_eq!(stored_u64(7, "a stream version"), Ok(7));
/// let err = stored_u64(-1, "a stream version").unwrap_err();
/// assert_eq!(err.to_string(), "the database holds a stream version -1, which is negative");
/// ```
pub fn stored_u64(value: i64, what: &'static str) -> Result<u64, NegativeStoredValue> {
    u64::try_from(value).map_err(|_| NegativeStoredValue { what, value })
}

/// A version, position or limit as a bound for a signed parameter. Values
/// above `i64::MAX` become `i64::MAX`: no stored value reaches it, so a
/// range or limit clamped so selects the same rows, and an expected version
/// clamped so still conflicts.
pub fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `u64` stored bit for bit in a signed column (checkpoint parts, which
/// are only ever compared in Rust), so that every value round-trips.
pub fn to_stored_bits(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

/// The inverse of [`to_stored_bits`].
pub fn from_stored_bits(stored: i64) -> u64 {
    u64::from_ne_bytes(stored.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_every_part() {
        for part in [
            0,
            1,
            u64::from(u32::MAX),
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
        ] {
            assert_eq!(from_stored_bits(to_stored_bits(part)), part);
        }
        assert_eq!(to_stored_bits(u64::MAX), -1);
    }

    #[test]
    fn bounds_beyond_i64_saturate_and_negatives_are_refused() {
        assert_eq!(saturating_i64(u64::MAX), i64::MAX);
        assert_eq!(saturating_i64(7), 7);
        assert_eq!(stored_u64(3, "a version"), Ok(3));
        assert_eq!(
            stored_u64(-1, "a version"),
            Err(NegativeStoredValue {
                what: "a version",
                value: -1
            })
        );
    }
}
