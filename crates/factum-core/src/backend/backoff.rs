//! [`Backoff`]: the pauses of a loop that waits for something to happen,
//! or that tries again after losing a race.

use std::time::Duration;

use tokio::time::Instant;

/// First pause between two checks of a waiting loop; doubles up to
/// [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause between two checks of a waiting loop.
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// Growing pauses between the attempts of a loop.
///
/// [`Backoff::new`] gives the pauses of a loop that waits for a state up to
/// a deadline: 1 ms, doubling to 50 ms. factum's async loops that wait use
/// it: feed waits, opening a file another process is creating, waiting for
/// a response, connecting to a server that is starting, the PostgreSQL test
/// harness waiting for its server.
///
/// [`with_pauses`](Self::with_pauses) and [`with_jitter`](Self::with_jitter)
/// make the pauses of a loop that retries after losing a race to others
/// doing the same, such as the repository's retries after a version
/// conflict: with jitter each pause is a random share of its step, so the
/// losers of one round spread out instead of colliding again in the next.
/// [`without_deadline`](Self::without_deadline) leaves counting the
/// attempts to the caller.
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
///
/// // Retries after conflicts: up to 1 ms, then 2 ms, 4 ms... up to 100 ms each.
/// let mut retries = Backoff::without_deadline()
///     .with_pauses(Duration::from_millis(1), Duration::from_millis(100))
///     .with_jitter();
/// assert!(retries.pause().await, "pauses without a deadline never run out");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    deadline: Option<Instant>,
    step: Duration,
    longest: Duration,
    jitter: bool,
}

impl Backoff {
    /// Pauses of 1 ms, doubling to 50 ms, that end `timeout` from now.
    pub fn new(timeout: Duration) -> Self {
        Self {
            deadline: Some(Instant::now() + timeout),
            ..Self::without_deadline()
        }
    }

    /// Pauses of 1 ms, doubling to 50 ms, that never end: the caller
    /// decides when to stop.
    pub fn without_deadline() -> Self {
        Self {
            deadline: None,
            step: FIRST_PAUSE,
            longest: LONGEST_PAUSE,
            jitter: false,
        }
    }

    /// Pauses from `first`, doubling to `longest` (at least `first`).
    pub fn with_pauses(mut self, first: Duration, longest: Duration) -> Self {
        self.step = first;
        self.longest = longest.max(first);
        self
    }

    /// Each pause lasts a random time between zero and its step ("full
    /// jitter"), drawn anew each time.
    pub fn with_jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// Pauses before the next attempt (never past the deadline); `false`, at
    /// once, when the deadline has passed.
    pub async fn pause(&mut self) -> bool {
        let now = Instant::now();
        let mut pause = if self.jitter {
            self.step.mul_f64(fastrand::f64())
        } else {
            self.step
        };
        if let Some(deadline) = self.deadline {
            if now >= deadline {
                return false;
            }
            pause = pause.min(deadline - now);
        }
        tokio::time::sleep(pause).await;
        self.step = (self.step * 2).min(self.longest);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pauses `backoff` makes, in whole milliseconds, until it stops or
    /// `most` were made.
    async fn pauses(backoff: &mut Backoff, most: usize) -> Vec<u128> {
        let mut pauses = Vec::new();
        let mut before = Instant::now();
        while pauses.len() < most && backoff.pause().await {
            pauses.push((Instant::now() - before).as_millis());
            before = Instant::now();
        }
        pauses
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_double_to_the_longest_and_stop_at_the_deadline() {
        let start = Instant::now();
        let mut backoff = Backoff::new(Duration::from_millis(200));
        let ms = pauses(&mut backoff, usize::MAX).await;
        assert_eq!(&ms[..7], &[1, 2, 4, 8, 16, 32, 50]);
        assert_eq!(Instant::now() - start, Duration::from_millis(200));
        assert!(!backoff.pause().await);
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_without_deadline_go_on_at_the_longest() {
        let mut backoff = Backoff::without_deadline()
            .with_pauses(Duration::from_millis(10), Duration::from_millis(30));
        assert_eq!(pauses(&mut backoff, 6).await, [10, 20, 30, 30, 30, 30]);
    }

    #[tokio::test(start_paused = true)]
    async fn jittered_pauses_stay_within_their_steps_and_vary() {
        fastrand::seed(7);
        let steps = [8u128, 16, 32, 64, 64, 64, 64, 64, 64, 64];
        let mut backoff = Backoff::without_deadline()
            .with_pauses(Duration::from_millis(8), Duration::from_millis(64))
            .with_jitter();
        let ms = pauses(&mut backoff, steps.len()).await;
        assert_eq!(ms.len(), steps.len());
        for (pause, step) in ms.iter().zip(steps) {
            assert!(
                *pause <= step,
                "pause {pause} ms exceeds its step {step} ms"
            );
        }
        assert!(
            ms.iter().zip(steps).any(|(pause, step)| *pause < step),
            "jitter shortens pauses: {ms:?}"
        );
        let (min, max) = (ms[3..].iter().min(), ms[3..].iter().max());
        assert_ne!(min, max, "pauses of one step differ: {ms:?}");
    }
}
