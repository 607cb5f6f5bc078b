//! What every backend needs besides the store traits, written once: the
//! checks an append passes before any backend sees it, the description of
//! an operation that errors carry, the pauses of waiting and recovering
//! loops, and the conversions between factum's unsigned numbers and the
//! signed 64-bit integers SQL databases store.
//!
//! Users of the store need none of this; someone writing a backend calls
//! [`validate_appends`] first in `append_many`, and names failures with
//! [`describe_appends`] and [`Error::backend`](crate::Error::backend).

mod backoff;
mod coalesce;
mod recovery;
mod stored;

pub use crate::append::{all_stored, check_duplicates, validate_appends};
pub use crate::projection::{
    HandlerRetries, PageCommit, PageFailure, PageOutcome, commit_page, replay_parked,
};
pub use backoff::Backoff;
pub use coalesce::{AppendQueue, QueuedAppend};
pub use recovery::Recovery;
pub use stored::{
    NegativeStoredValue, from_stored_bits, saturating_i64, stored_u64, to_stored_bits,
};

use crate::StreamAppend;

/// What an append is called in errors: `appending to stream a` or
/// `appending to streams a, b`.
///
/// ```
/// use factum_core::backend::describe_appends;
/// use factum_core::{EventData, ExpectedVersion, StreamAppend, StreamId};
///
/// let append = |name| {
///     let event = EventData::json("E", b"{}".to_vec());
///     StreamAppend::new(StreamId::new(name).unwrap(), ExpectedVersion::Any, vec![event])
/// };
/// assert_eq!(describe_appends(&[append("a")]), "appending to stream a");
/// assert_eq!(describe_appends(&[append("a"), append("b")]), "appending to streams a, b");
/// ```
pub fn describe_appends(appends: &[StreamAppend]) -> String {
    match appends {
        [one] => format!("appending to stream {}", one.stream_id),
        many => {
            let names: Vec<&str> = many.iter().map(|a| a.stream_id.as_str()).collect();
            format!("appending to streams {}", names.join(", "))
        }
    }
}
