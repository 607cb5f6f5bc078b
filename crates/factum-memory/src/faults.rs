//! [`Faults`]: failures and latency injected into a memory store.

use std::ops::RangeInclusive;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use factum_core::Error;

/// Faults a [`MemoryStore`](crate::MemoryStore) injects into its
/// operations, to test how code above the store copes (set with `with_*`,
/// read with the bare name). Faults are drawn from a seeded generator, so a
/// failing test can be replayed (exactly so when one task at a time uses
/// the store).
///
/// An injected failure is what a real backend reports when the connection
/// is lost: [`Error::Unavailable`], a [transient](Error::is_transient)
/// error, whose source is an [`InjectedFault`] saying which kind:
///
/// - *before* ([`with_failure_probability`](Self::with_failure_probability)):
///   any operation fails before it touches the data, so a failed append
///   leaves no trace;
/// - *after the write*
///   ([`with_failure_after_write_probability`](Self::with_failure_after_write_probability)):
///   a write that succeeded (an append, saving a snapshot or a checkpoint,
///   deleting a checkpoint) reports the failure anyway, as when the
///   connection drops after the commit: an ambiguous outcome. The append is
///   stored and readers see it; the writer must retry with idempotency keys
///   or an exact expected version to be sure, which cannot store it twice.
///
/// ```
/// use std::time::Duration;
/// use factum_memory::{Faults, MemoryStore};
///
/// let faults = Faults::default()
///     .with_failure_probability(0.1)
///     .with_failure_after_write_probability(0.1)
///     .with_latency_range(Duration::ZERO..=Duration::from_millis(2))
///     .with_seed(7);
/// let store = MemoryStore::with_faults(faults);
/// # drop(store);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    failure_probability: f64,
    failure_after_write_probability: f64,
    shortest_latency: Duration,
    longest_latency: Duration,
    seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            failure_probability: 0.0,
            failure_after_write_probability: 0.0,
            shortest_latency: Duration::ZERO,
            longest_latency: Duration::ZERO,
            seed: 0x5eed,
        }
    }
}

impl Faults {
    /// Operations fail before they touch the data with this probability
    /// (clamped to 0.0..=1.0).
    pub fn with_failure_probability(mut self, probability: f64) -> Self {
        self.failure_probability = probability.clamp(0.0, 1.0);
        self
    }

    /// Writes that succeeded report a failure anyway with this probability
    /// (clamped to 0.0..=1.0): an ambiguous outcome, the write is done.
    pub fn with_failure_after_write_probability(mut self, probability: f64) -> Self {
        self.failure_after_write_probability = probability.clamp(0.0, 1.0);
        self
    }

    /// Every operation waits this long first.
    pub fn with_latency(self, latency: Duration) -> Self {
        self.with_latency_range(latency..=latency)
    }

    /// Every operation waits first, for a time drawn anew each time,
    /// evenly, from `range`. A range whose end lies before its start is
    /// taken as its start alone.
    pub fn with_latency_range(mut self, range: RangeInclusive<Duration>) -> Self {
        let (shortest, longest) = range.into_inner();
        self.shortest_latency = shortest;
        self.longest_latency = longest.max(shortest);
        self
    }

    /// Seeds the generator that decides which operations fail and how long
    /// they wait.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Chance, from 0.0 to 1.0, that an operation fails before it touches
    /// the data.
    pub fn failure_probability(&self) -> f64 {
        self.failure_probability
    }

    /// Chance, from 0.0 to 1.0, that a write that succeeded reports a
    /// failure.
    pub fn failure_after_write_probability(&self) -> f64 {
        self.failure_after_write_probability
    }

    /// The range the delay before every operation is drawn from (one value
    /// when the latency is fixed).
    pub fn latency(&self) -> RangeInclusive<Duration> {
        self.shortest_latency..=self.longest_latency
    }

    /// Seed of the generator.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// The source of an injected failure: when the connection was "lost".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InjectedFault {
    /// Before the operation touched the data: nothing was done.
    #[error("injected fault: connection lost before the operation reached the store")]
    Before,
    /// After a write succeeded: it is done, but its answer was lost.
    #[error("injected fault: connection lost after the write was done, its answer lost")]
    AfterWrite,
}

/// The answer of a write that got past the faults: what it returns once
/// done, its result or the failure drawn for after the write.
#[derive(Debug, Default)]
pub(crate) struct Answer(Option<Error>);

impl Answer {
    /// `done`, unless the answer is to be lost.
    pub(crate) fn deliver<T>(self, done: T) -> Result<T, Error> {
        match self.0 {
            Some(lost) => Err(lost),
            None => Ok(done),
        }
    }
}

/// Faults plus the generator that draws them.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    faults: Faults,
    rng: Mutex<fastrand::Rng>,
}

impl FaultInjector {
    pub(crate) fn new(faults: Faults) -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            faults,
        }
    }

    /// Waits the configured latency, then fails `operation` or lets it run.
    pub(crate) async fn before(&self, operation: impl FnOnce() -> String) -> Result<(), Error> {
        let latency = self.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if self.draw(self.faults.failure_probability) {
            return Err(Error::unavailable(
                "memory",
                operation(),
                InjectedFault::Before,
            ));
        }
        Ok(())
    }

    /// [`before`](Self::before) for a write, which then also draws whether
    /// its answer is lost.
    pub(crate) async fn before_write(
        &self,
        operation: impl Fn() -> String,
    ) -> Result<Answer, Error> {
        self.before(&operation).await?;
        if self.draw(self.faults.failure_after_write_probability) {
            let lost = Error::unavailable("memory", operation(), InjectedFault::AfterWrite);
            return Ok(Answer(Some(lost)));
        }
        Ok(Answer(None))
    }

    /// The delay before the next operation.
    fn latency(&self) -> Duration {
        let Faults {
            shortest_latency: shortest,
            longest_latency: longest,
            ..
        } = self.faults;
        if shortest == longest {
            return shortest;
        }
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng().u64(nanos(shortest)..=nanos(longest)))
    }

    /// Whether an event of `probability` happens; draws nothing when it
    /// cannot.
    fn draw(&self, probability: f64) -> bool {
        probability > 0.0 && self.rng().f64() < probability
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, fastrand::Rng> {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
