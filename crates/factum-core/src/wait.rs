//! Waiting for the store to reach a state, without fixed sleeps:
//! [`FeedWait::await_count`].

use std::time::Duration;

use crate::backend::Backoff;
use crate::{Error, EventStore, GlobalPosition, Result};

/// Waits on a store's global feed. Get one with [`WaitForFeed::wait_for_feed`].
#[derive(Debug)]
pub struct FeedWait<'a, S: ?Sized> {
    store: &'a S,
    timeout: Duration,
}

impl<S: EventStore + ?Sized> FeedWait<'_, S> {
    /// Gives up after `timeout` (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
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

/// Adds [`wait_for_feed`](WaitForFeed::wait_for_feed) to every store.
///
/// ```
/// use factum_core::{EventStore, WaitForFeed};
///
/// async fn wait_for_three(store: &dyn EventStore) -> factum_core::Result<()> {
///     store.wait_for_feed().await_count(3).await?;
///     Ok(())
/// }
/// ```
pub trait WaitForFeed: EventStore {
    /// Starts waiting on this store.
    fn wait_for_feed(&self) -> FeedWait<'_, Self> {
        FeedWait {
            store: self,
            timeout: Duration::from_secs(10),
        }
    }

    /// [`wait_for_feed`](Self::wait_for_feed) under the name es-postgres
    /// gives it, so that code written for it compiles as written:
    /// `store.poll().await_count(1).await?`.
    fn poll(&self) -> FeedWait<'_, Self> {
        self.wait_for_feed()
    }
}

impl<S: EventStore + ?Sized> WaitForFeed for S {}
