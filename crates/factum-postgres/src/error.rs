//! Turning database failures into [`factum_core::Error`].

use factum_core::Error;

/// The error of a failed database call, naming what the store was doing.
pub(crate) fn backend(
    operation: impl Into<String>,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Backend {
        backend: "postgres",
        operation: operation.into(),
        source: source.into(),
    }
}

/// A stored integer that must not be negative, as `u64`.
pub(crate) fn unsigned(value: i64, what: &str) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| {
        backend(
            format!("decoding {what}"),
            format!("the database holds the negative value {value}"),
        )
    })
}

/// A `u64` for a bigint parameter; values above `i64::MAX` are clamped,
/// which callers use only where no stored value can reach them.
pub(crate) fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
