//! [`Recovery`]: the pauses of a long-running loop between attempts that
//! failed with a transient error.

use std::time::Duration;

use tokio::time::Instant;

use crate::ProjectionError;

/// First pause after a transient failure; doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between two attempts.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);
/// An attempt that ran this long worked for a while: the next failure is a
/// new outage, and the pauses start again from the first.
const HEALTHY: Duration = Duration::from_secs(30);

/// Pauses between the attempts of a loop that must outlive outages (a
/// projection runner, a relay): 100 ms after a transient failure, doubling
/// to 5 s while the attempts keep failing, back to 100 ms once an attempt
/// ran for 30 s. Unlike [`Backoff`](super::Backoff) it has no deadline:
/// errors that are not [transient](ProjectionError::is_transient) end the
/// loop instead.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use factum_core::backend::Recovery;
/// use factum_core::{Error, ProjectionError};
///
/// let lost = |operation: &str| ProjectionError::Store {
///     projection: "totals".into(),
///     source: Error::unavailable("postgres", operation, "connection reset by peer"),
/// };
/// let mut recovery = Recovery::new();
/// // A transient failure: pause, then try again.
/// assert!(recovery.recover(lost("reading the feed")).await.is_ok());
/// // Anything else ends the loop, with the error.
/// let lasting = ProjectionError::Reset { projection: "totals".into(), source: "no table".into() };
/// assert!(recovery.recover(lasting).await.is_err());
/// # }
/// ```
#[derive(Debug)]
pub struct Recovery {
    pause: Duration,
    attempt_started: Instant,
}

impl Default for Recovery {
    fn default() -> Self {
        Self::new()
    }
}

impl Recovery {
    /// Pauses starting at the first; the first attempt starts now.
    pub fn new() -> Self {
        Self {
            pause: FIRST_PAUSE,
            attempt_started: Instant::now(),
        }
    }

    /// After a failed attempt: `Err(error)` when retrying cannot help;
    /// else logs it, pauses, and starts the next attempt.
    pub async fn recover(&mut self, error: ProjectionError) -> Result<(), ProjectionError> {
        if !error.is_transient() {
            return Err(error);
        }
        tracing::warn!(%error, "transient failure; resuming after a pause");
        self.pause().await;
        self.attempt_started = Instant::now();
        Ok(())
    }

    /// The pause after a failed attempt: the first again when the attempt
    /// ran long enough to count as a recovery, else twice the last.
    async fn pause(&mut self) {
        if self.attempt_started.elapsed() >= HEALTHY {
            self.pause = FIRST_PAUSE;
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_to_the_longest_and_start_over_after_a_long_attempt() {
        let mut recovery = Recovery::new();
        let mut pauses = Vec::new();
        for _ in 0..8 {
            recovery.attempt_started = Instant::now();
            let before = Instant::now();
            recovery.pause().await;
            pauses.push((Instant::now() - before).as_millis());
        }
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);

        recovery.attempt_started = Instant::now();
        tokio::time::sleep(HEALTHY).await;
        let before = Instant::now();
        recovery.pause().await;
        assert_eq!((Instant::now() - before).as_millis(), 100);
    }
}
