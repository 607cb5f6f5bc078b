//! Waiting for the store to reach a state, without fixed sleeps:
//! [`Poll::await_count`], and the [`Backoff`] every waiting loop shares.

use std::time::Duration;

use crate::{Error, EventStore, GlobalPosition, Result};

/// First pause between two checks; doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause between two checks.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Pauses between the checks of a waiting loop: 1 ms, doubling to 50 ms,
/// until a deadline.
#[derive(Debug)]
pub(crate) struct Backoff {
    deadline: tokio::time::Instant,
    pause: Duration,
}

impl Backoff {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            deadline: tokio::time::Instant::now() + timeout,
            pause: FIRST_PAUSE,
        }
    }

    /// Pauses before the next check; `false` when the deadline has passed.
    pub(crate) async fn pause(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        if now >= self.deadline {
            return false;
        }
        tokio::time::sleep(self.pause.min(self.deadline - now)).await;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        true
    }
}

/// Waits on a store's global feed. Get one with [`PollStore::poll`].
#[derive(Debug)]
pub struct Poll<'a, S: ?Sized> {
    store: &'a S,
    timeout: Duration,
}

impl<S: EventStore + ?Sized> Poll<'_, S> {
    /// Gives up after `timeout` (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Waits until the global feed holds at least `count` committed events,
    /// and returns how many it holds. Fails with [`Error::Timeout`] when the
    /// timeout passes first.
    pub async fn await_count(self, count: usize) -> Result<usize> {
        let mut seen = 0;
        let mut after = GlobalPosition::START;
        let mut backoff = Backoff::new(self.timeout);
        loop {
            loop {
                let page = self.store.read_all(after, 1_000).await?;
                let Some(last) = page.last() else { break };
                after = last.position;
                seen += page.len();
            }
            if seen >= count {
                return Ok(seen);
            }
            if !backoff.pause().await {
                return Err(Error::Timeout {
                    waiting_for: format!("{count} committed events (saw {seen})"),
                    timeout: self.timeout,
                });
            }
        }
    }
}

/// Adds [`poll`](PollStore::poll) to every store.
///
/// ```
/// use factum_core::{EventStore, PollStore};
///
/// async fn wait_for_three(store: &dyn EventStore) -> factum_core::Result<()> {
///     store.poll().await_count(3).await?;
///     Ok(())
/// }
/// ```
pub trait PollStore: EventStore {
    /// Starts waiting on this store.
    fn poll(&self) -> Poll<'_, Self> {
        Poll {
            store: self,
            timeout: Duration::from_secs(10),
        }
    }
}

impl<S: EventStore + ?Sized> PollStore for S {}
