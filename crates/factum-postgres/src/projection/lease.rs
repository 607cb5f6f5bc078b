//! Leases: which runner may run a projection now, with a fencing token.
//!
//! A runner takes the row of `projection_leases` for its projection and
//! partition when it is free, expired or already its own, bumping the
//! token (`projection_lease_acquire.sql`); it renews it every third of the
//! time to live while it works; and every transaction that writes its
//! checkpoint first locks the row and checks holder, token and expiry
//! (`projection_lease_fence.sql`). A runner that lost its lease therefore
//! never commits, and the next holder reads the checkpoint only after
//! taking the lease, so it starts where the last commit left off. Expiry is
//! judged by the database server's clock alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::sql::statement;

/// The lease a [`PostgresProjectionRunner`](crate::PostgresProjectionRunner) takes
/// before it handles events, so that several runners of one projection (in
/// several processes) can run at once: one works, the others wait and take
/// over within about `ttl` when it dies.
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

/// The statements a lease needs, and what identifies it.
#[derive(Debug, Clone)]
pub(crate) struct LeaseSql {
    pub(crate) pool: PgPool,
    pub(crate) projection: String,
    /// The partition's index, 0 when the projection is not partitioned.
    pub(crate) partition: i32,
    pub(crate) lease: Lease,
    pub(crate) acquire: Arc<str>,
    pub(crate) renew: Arc<str>,
    pub(crate) release: Arc<str>,
}

impl LeaseSql {
    /// Takes the lease if it is free, expired or ours: its new token.
    pub(crate) async fn try_acquire(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(statement(&self.acquire))
            .bind(&self.projection)
            .bind(self.partition)
            .bind(&self.lease.holder)
            .bind(self.lease.ttl_ms())
            .fetch_optional(&self.pool)
            .await
    }

    /// Extends the lease held with `token`; false when it is lost.
    pub(crate) async fn renew(&self, token: i64) -> Result<bool, sqlx::Error> {
        let row: Option<i64> = sqlx::query_scalar(statement(&self.renew))
            .bind(&self.projection)
            .bind(self.partition)
            .bind(&self.lease.holder)
            .bind(token)
            .bind(self.lease.ttl_ms())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Lets the lease held with `token` expire now.
    pub(crate) async fn release(&self, token: i64) -> Result<(), sqlx::Error> {
        sqlx::query(statement(&self.release))
            .bind(&self.projection)
            .bind(self.partition)
            .bind(&self.lease.holder)
            .bind(token)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Starts renewing the lease held with `token` in the background, until
    /// the returned guard is dropped or the lease is lost.
    pub(crate) fn keep(&self, token: i64) -> Renewal {
        let lost = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(renew_loop(self.clone(), token, lost.clone()));
        Renewal { lost, task }
    }
}

async fn renew_loop(sql: LeaseSql, token: i64, lost: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(sql.lease.ttl / 3).await;
        match sql.renew(token).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(projection = %sql.projection, holder = %sql.lease.holder, token, "projection lease lost");
                lost.store(true, Ordering::Relaxed);
                return;
            }
            // The lease may still be renewed in time at the next try; the
            // fence keeps commits safe meanwhile.
            Err(e) => {
                tracing::warn!(projection = %sql.projection, error = %e, "renewing a projection lease failed")
            }
        }
    }
}

/// Renews a lease in the background; stops when dropped.
#[derive(Debug)]
pub(crate) struct Renewal {
    lost: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Renewal {
    /// Whether a renewal found the lease taken by someone else.
    pub(crate) fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.task.abort();
    }
}
