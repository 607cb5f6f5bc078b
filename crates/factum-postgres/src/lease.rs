//! Leases: which worker (a projection's runner, a relay) may work now,
//! with a fencing token.
//!
//! A worker takes the row of `projection_leases` for its name and
//! partition when it is free, expired or already its own, bumping the
//! token (`projection_lease_acquire.sql`), and renews it every third of
//! the time to live while it works. A projection runner's transactions
//! that write its checkpoint first lock the row and check holder, token and
//! expiry (`projection_lease_fence.sql`): a runner that lost its lease
//! never commits, and the next holder reads the checkpoint only after
//! taking the lease, so it starts where the last commit left off. Expiry is
//! judged by the database server's clock alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use factum_core::{LeaseTerm, Result, WorkerLease};
use sqlx::PgPool;

use crate::PostgresStore;
use crate::error::backend;
use crate::sql::{fill, statement};

/// The terms of a lease: how long it lives and who holds it. A
/// [`PostgresProjectionRunner`](crate::PostgresProjectionRunner) takes one
/// before it handles events, and [`PostgresStore::worker_lease`] gives one
/// to any other worker (a relay), so that several of them (in several
/// processes) can run at once: one works, the others wait and take over
/// within about `ttl` when it dies.
///
/// ```
/// use std::time::Duration;
/// use factum_postgres::Lease;
///
/// let lease = Lease::new(Duration::from_secs(10)).with_holder("billing-worker-1");
/// assert_eq!(lease.ttl(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    ttl: Duration,
    holder: String,
}

impl Lease {
    /// A lease that lives `ttl` without renewal (at least 100 ms), held
    /// under a name unique to this runner (process id and a UUIDv7).
    ///
    /// The trade-off: when the holder dies, the others wait up to `ttl`
    /// (plus a quarter of it, their retry pause) before one takes over; a
    /// holder that cannot renew for `ttl` (a stalled process, a lost
    /// network) loses the lease and its uncommitted page: the server ends
    /// the session of a page left idle in its transaction for `ttl`, so a
    /// handler may not pause inside a page for that long.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: ttl.max(Duration::from_millis(100)),
            holder: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7()),
        }
    }

    /// Holds the lease under `holder` instead; it must be unique to this
    /// runner, since a runner takes over a lease held under its own name.
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// The time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The holder's name, as stored in `projection_leases.holder`.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// How long a waiting runner pauses between two attempts to take the
    /// lease, and a holder between two renewals.
    pub(crate) fn retry_pause(&self) -> Duration {
        self.ttl / 4
    }
}

/// A [`WorkerLease`] kept in the store's `projection_leases` table: one
/// row per name (and partition), holder, fencing token and expiry, judged
/// by the server's clock. Made by [`PostgresStore::worker_lease`] for any
/// worker that must run once among several processes; projection runners
/// use the same rows under their projection's name.
///
/// ```no_run
/// use std::time::Duration;
/// use factum_core::WorkerLease;
/// use factum_postgres::{Lease, PostgresStore};
///
/// # async fn demo(store: PostgresStore) -> factum_core::Result<()> {
/// let lease = store.worker_lease("relay:EVENTS", Lease::new(Duration::from_secs(5)));
/// let term = lease.acquire().await?; // waits while another process holds it
/// assert!(!term.is_lost());
/// lease.release(term).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresWorkerLease {
    pool: PgPool,
    name: String,
    /// The partition's index, 0 when the worker is not partitioned.
    pub(crate) partition: i32,
    pub(crate) lease: Lease,
    acquire: Arc<str>,
    renew: Arc<str>,
    release: Arc<str>,
}

impl PostgresWorkerLease {
    /// The lease named `name` (partition 0) in `store`'s schema.
    pub(crate) fn new(store: &PostgresStore, name: impl Into<String>, lease: Lease) -> Self {
        let quoted = store.schema().quoted();
        Self {
            pool: store.pool().clone(),
            name: name.into(),
            partition: 0,
            lease,
            acquire: fill(include_str!("sql/projection_lease_acquire.sql"), &quoted),
            renew: fill(include_str!("sql/projection_lease_renew.sql"), &quoted),
            release: fill(include_str!("sql/projection_lease_release.sql"), &quoted),
        }
    }

    /// The lease's name, as stored in `projection_leases.projection`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lease's terms.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Extends the lease held with `token`; false when it is lost.
    async fn renew(&self, token: i64) -> std::result::Result<bool, sqlx::Error> {
        let row: Option<i64> = sqlx::query_scalar(statement(&self.renew))
            .bind(&self.name)
            .bind(self.partition)
            .bind(&self.lease.holder)
            .bind(token)
            .bind(self.lease.ttl_ms())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl WorkerLease for PostgresWorkerLease {
    fn holder(&self) -> &str {
        &self.lease.holder
    }

    fn retry_pause(&self) -> Duration {
        self.lease.retry_pause()
    }

    async fn try_acquire(&self) -> Result<Option<LeaseTerm>> {
        let token: Option<i64> = sqlx::query_scalar(statement(&self.acquire))
            .bind(&self.name)
            .bind(self.partition)
            .bind(&self.lease.holder)
            .bind(self.lease.ttl_ms())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(format!("taking the lease {:?}", self.name), e))?;
        Ok(token.map(|token| {
            tracing::debug!(lease = %self.name, partition = self.partition, holder = %self.lease.holder, token, "lease taken");
            let lost = Arc::new(AtomicBool::new(false));
            let renewal = tokio::spawn(renew_loop(self.clone(), token, lost.clone()));
            LeaseTerm::new(token, lost, Some(renewal.abort_handle()))
        }))
    }

    async fn release(&self, term: LeaseTerm) -> Result<()> {
        let token = term.token();
        drop(term);
        sqlx::query(statement(&self.release))
            .bind(&self.name)
            .bind(self.partition)
            .bind(&self.lease.holder)
            .bind(token)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| backend(format!("releasing the lease {:?}", self.name), e))
    }
}

/// Renews the lease held with `token` every third of its time to live,
/// until it is lost (then sets `lost`) or the task is aborted.
async fn renew_loop(lease: PostgresWorkerLease, token: i64, lost: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(lease.lease.ttl / 3).await;
        match lease.renew(token).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(lease = %lease.name, holder = %lease.lease.holder, token, "lease lost");
                lost.store(true, Ordering::Relaxed);
                return;
            }
            // The lease may still be renewed in time at the next try; the
            // fence keeps the worker's writes safe meanwhile.
            Err(e) => {
                tracing::warn!(lease = %lease.name, error = %e, "renewing a lease failed")
            }
        }
    }
}
