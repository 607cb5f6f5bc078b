//! How a command is retried when a concurrent writer beat it: the limit and
//! the pauses, shared by the [`Repository`](super::Repository) and the
//! [`Decider`](super::Decider).

use std::time::Duration;

use crate::backend::Backoff;

/// Retries of a command after version conflicts, by default.
const MAX_RETRIES: u32 = 24;
/// Longest pause before the first retry, by default; each retry's longest
/// pause doubles up to [`LONGEST_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(2);
/// Longest pause before any retry, by default.
const LONGEST_RETRY_PAUSE: Duration = Duration::from_millis(400);

/// How a command is retried after version conflicts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Retries {
    pub(super) max: u32,
    pub(super) first_pause: Duration,
    pub(super) longest_pause: Duration,
}

impl Retries {
    /// The pauses between one command's attempts.
    pub(super) fn backoff(&self) -> Backoff {
        Backoff::without_deadline()
            .with_pauses(self.first_pause, self.longest_pause)
            .with_jitter()
    }
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            max: MAX_RETRIES,
            first_pause: FIRST_RETRY_PAUSE,
            longest_pause: LONGEST_RETRY_PAUSE,
        }
    }
}
