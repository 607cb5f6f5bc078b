//! What the [`Repository`](super::Repository) hands back: a loaded state,
//! an executed command, or why a command failed.

use super::logic::Aggregate;
use crate::{AppendResult, Error};

/// An aggregate's state as loaded, and the stream version it reflects
/// (`None`: the stream does not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<A> {
    /// The folded state.
    pub state: A,
    /// The last event folded in.
    pub version: Option<u64>,
}

/// What a successful [`Repository::execute`](super::Repository::execute)
/// did.
#[derive(Debug)]
pub struct Executed<A: Aggregate> {
    /// The state after the new events.
    pub state: A,
    /// The stream version after the append.
    pub version: Option<u64>,
    /// The events the command caused (empty: nothing was written).
    pub events: Vec<A::Event>,
    /// The store's report, `None` when nothing was written.
    pub append: Option<AppendResult>,
    /// How many times the command was handled (more than 1 after conflicts).
    pub attempts: u32,
}

/// Why [`Repository::execute`](super::Repository::execute) failed. Nothing
/// of the command was written.
///
/// ```
/// use factum_core::aggregate::ExecuteError;
/// use factum_core::{Error, ExpectedVersion, StreamId};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("the cart is checked out")]
/// struct CheckedOut;
///
/// let refused = ExecuteError::Domain { error: CheckedOut, attempts: 2 };
/// assert_eq!(
///     refused.to_string(),
///     "command refused: the cart is checked out (on attempt 2, after 1 version conflict)"
/// );
/// let conflict = Error::VersionConflict {
///     stream: StreamId::new("cart-1")?,
///     expected: ExpectedVersion::Exact(4),
///     actual: Some(5),
/// };
/// let exhausted = ExecuteError::<CheckedOut>::RetriesExhausted { attempts: 17, last: conflict };
/// assert_eq!(
///     exhausted.to_string(),
///     "gave up after 17 attempts, each beaten by a concurrent writer; the last: \
///      version conflict on stream cart-1: expected version 4, but the stream is at version 5"
/// );
/// assert_eq!(exhausted.attempts(), Some(17));
/// # Ok::<(), factum_core::StreamIdError>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The aggregate refused the command. `attempts` counts the times it
    /// was handled: more than 1 when version conflicts made the repository
    /// reload the state, so the refusal may be due to a concurrent command.
    #[error("command refused: {error}{}", display_attempt(*.attempts))]
    Domain {
        /// The aggregate's reason.
        #[source]
        error: E,
        /// The attempt that refused it (1: the first).
        attempts: u32,
    },
    /// Every attempt lost the race to a concurrent writer of the same
    /// stream, up to the repository's retry limit
    /// ([`with_max_retries`](super::Repository::with_max_retries)).
    #[error(
        "gave up after {attempts} attempts, each beaten by a concurrent writer; the last: {last}"
    )]
    RetriesExhausted {
        /// How many times the command was handled and its events appended.
        attempts: u32,
        /// The last attempt's [`Error::VersionConflict`], naming the stream
        /// and the expected and actual versions (for a
        /// [`Decider`](super::Decider), its [`Error::ConditionFailed`],
        /// naming the event that changed the facts).
        #[source]
        last: Error,
    },
    /// The store failed: reading, decoding or appending.
    #[error(transparent)]
    Store(#[from] Error),
}

impl<E: std::error::Error + 'static> ExecuteError<E> {
    /// How many times the command was handled before it failed: for a
    /// refusal, the attempt that refused it; `None` for a store failure.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Self::Domain { attempts, .. } | Self::RetriesExhausted { attempts, .. } => {
                Some(*attempts)
            }
            Self::Store(_) => None,
        }
    }
}

/// `" (on attempt 3, after 2 version conflicts)"`, or nothing for the first.
fn display_attempt(attempts: u32) -> String {
    match attempts {
        0 | 1 => String::new(),
        2 => " (on attempt 2, after 1 version conflict)".to_owned(),
        n => format!(" (on attempt {n}, after {} version conflicts)", n - 1),
    }
}
