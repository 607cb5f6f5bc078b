//! [`Backoff`]: the pauses of a loop that waits for something to happen.

use std::time::Duration;

use tokio::time::Instant;

/// First pause between two checks; doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause between two checks.
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// Pauses between the checks of a waiting loop: 1 ms, doubling to 50 ms,
/// until a deadline. factum's async loops that wait up to a deadline use
/// it: feed waits, opening a file another process is creating, waiting for
/// a response, the PostgreSQL test harness waiting for its server.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use factum_core::backend::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(5));
/// let mut checks = 1;
/// while backoff.pause().await {
///     checks += 1;
/// }
/// assert!(checks >= 2, "it paused at least once before the deadline");
/// # }
/// ```
#[derive(Debug)]
pub struct Backoff {
    deadline: Instant,
    pause: Duration,
}

impl Backoff {
    /// Pauses that end `timeout` from now.
    pub fn new(timeout: Duration) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            pause: FIRST_PAUSE,
        }
    }

    /// Pauses before the next check (never past the deadline); `false`, at
    /// once, when the deadline has passed.
    pub async fn pause(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        tokio::time::sleep(self.pause.min(self.deadline - now)).await;
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_to_the_longest_and_stop_at_the_deadline() {
        let start = Instant::now();
        let mut backoff = Backoff::new(Duration::from_millis(200));
        let mut pauses = Vec::new();
        let mut before = Instant::now();
        while backoff.pause().await {
            pauses.push(Instant::now() - before);
            before = Instant::now();
        }
        let ms: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
        assert_eq!(&ms[..7], &[1, 2, 4, 8, 16, 32, 50]);
        assert_eq!(Instant::now() - start, Duration::from_millis(200));
        assert!(!backoff.pause().await);
    }
}
