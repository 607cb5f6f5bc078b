//! [`WorkerLease`]: one worker at a time among several processes.
//!
//! Some work must be done by a single worker even when several are started
//! for availability: a relay publishing the feed, a projection's runner.
//! Each candidate holds a [`WorkerLease`] under a name of its own; the one
//! that takes it works while it renews it, the others try again every
//! [`retry_pause`](WorkerLease::retry_pause) and one of them takes over
//! once the holder's term expires (it died, stalled or was cut off).
//!
//! A lease alone cannot stop a holder that stalled past its expiry from
//! doing one more step after another took over: whatever the worker writes
//! must be fenced too. The projection runner checks its term's
//! [`token`](LeaseTerm::token) in the transaction that moves its
//! checkpoint; the NATS relay publishes with JetStream's
//! expected-last-sequence check, so a stale holder's publish is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::AbortHandle;

use crate::Result;

/// A lease that several workers compete for, each under its own holder
/// name: the one holding it works, the others stand by. PostgreSQL's
/// implementation is `factum_postgres::PostgresStore::worker_lease`, a row
/// of its lease table with an expiry judged by the server's clock and a
/// fencing token bumped by every new term.
///
/// ```
/// use factum_core::{LeaseTerm, Result, WorkerLease};
///
/// /// Does one step of the work while this process holds `lease`.
/// async fn work_while_held(lease: &dyn WorkerLease) -> Result<()> {
///     let term = lease.acquire().await?; // waits for the lease
///     while !term.is_lost() {
///         // ... one step of the work, fenced by term.token() ...
///         # break;
///     }
///     lease.release(term).await
/// }
/// ```
#[async_trait]
pub trait WorkerLease: Send + Sync {
    /// The name this worker holds the lease under (unique to it).
    fn holder(&self) -> &str;

    /// How long a worker waits between two attempts to take the lease.
    fn retry_pause(&self) -> Duration;

    /// Takes the lease when it is free, expired or already this holder's,
    /// and keeps renewing it until the returned term is dropped or
    /// released; `None` while another holder has it.
    async fn try_acquire(&self) -> Result<Option<LeaseTerm>>;

    /// Lets `term` go now, so another worker need not wait for it to
    /// expire. Dropping a term instead stops its renewal and lets it
    /// expire by itself, as a crash would.
    async fn release(&self, term: LeaseTerm) -> Result<()>;

    /// Waits until this worker holds the lease, trying every
    /// [`retry_pause`](Self::retry_pause). Fails at the first error (the
    /// caller decides whether to try again).
    async fn acquire(&self) -> Result<LeaseTerm> {
        loop {
            if let Some(term) = self.try_acquire().await? {
                return Ok(term);
            }
            tokio::time::sleep(self.retry_pause()).await;
        }
    }
}

/// One term of a held [`WorkerLease`]: its fencing token, and whether a
/// renewal found the lease taken over. Dropping the term stops its renewal.
#[derive(Debug)]
pub struct LeaseTerm {
    token: i64,
    lost: Arc<AtomicBool>,
    renewal: Option<AbortHandle>,
}

impl LeaseTerm {
    /// A term with fencing `token`, renewed by the task behind `renewal`
    /// (aborted when the term is dropped), which sets `lost` when it finds
    /// the lease expired or taken over.
    pub fn new(token: i64, lost: Arc<AtomicBool>, renewal: Option<AbortHandle>) -> Self {
        Self {
            token,
            lost,
            renewal,
        }
    }

    /// The fencing token: larger for every new term of the lease.
    pub fn token(&self) -> i64 {
        self.token
    }

    /// Whether this term has ended: stop working (and fence what is in
    /// flight).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for LeaseTerm {
    fn drop(&mut self) {
        if let Some(renewal) = &self.renewal {
            renewal.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_a_term_stops_its_renewal() {
        let task = tokio::spawn(std::future::pending::<()>());
        let term = LeaseTerm::new(
            3,
            Arc::new(AtomicBool::new(false)),
            Some(task.abort_handle()),
        );
        assert_eq!((term.token(), term.is_lost()), (3, false));
        drop(term);
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
    }

    #[test]
    fn a_term_reads_as_lost_once_its_renewal_says_so() {
        let lost = Arc::new(AtomicBool::new(false));
        let term = LeaseTerm::new(1, lost.clone(), None);
        lost.store(true, Ordering::Relaxed);
        assert!(term.is_lost());
    }
}
