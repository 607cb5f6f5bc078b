//! [`Faults`]: failures and latency injected into a memory store.

use std::sync::Mutex;
use std::time::Duration;

use factum_core::Error;

/// Faults a [`MemoryStore`](crate::MemoryStore) injects into every
/// operation, to test how code above the store copes (set with `with_*`,
/// read with the bare name). Faults are drawn from a seeded generator, so a
/// failing test can be replayed.
///
/// An injected failure happens before the operation touches the data: a
/// failed append leaves no trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    failure_probability: f64,
    latency: Duration,
    seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            failure_probability: 0.0,
            latency: Duration::ZERO,
            seed: 0x5eed,
        }
    }
}

impl Faults {
    /// Operations fail with [`Error::Backend`] with this probability
    /// (clamped to 0.0..=1.0).
    pub fn with_failure_probability(mut self, probability: f64) -> Self {
        self.failure_probability = probability.clamp(0.0, 1.0);
        self
    }

    /// Every operation waits this long first.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Seeds the generator that decides which operations fail.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Chance, from 0.0 to 1.0, that an operation fails.
    pub fn failure_probability(&self) -> f64 {
        self.failure_probability
    }

    /// Delay added before every operation.
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// Seed of the generator.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// The error an injected failure reports as its source.
#[derive(Debug, thiserror::Error)]
#[error("injected fault")]
pub struct InjectedFault;

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
        if !self.faults.latency.is_zero() {
            tokio::time::sleep(self.faults.latency).await;
        }
        if self.faults.failure_probability <= 0.0 {
            return Ok(());
        }
        let draw = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .f64();
        if draw < self.faults.failure_probability {
            return Err(Error::backend("memory", operation(), InjectedFault));
        }
        Ok(())
    }
}
