//! Announcing new events: after an append, a `pg_notify` on the schema's
//! channel (see `listen.rs`), which wakes the feed listeners of every
//! process.
//!
//! PostgreSQL serializes the commits of transactions that notified, so a
//! notification per append would cost many concurrent writers their group
//! commit. A store therefore sends at most one per [`INTERVAL`], from a task
//! of its own and on a statement of its own, so that appends never wait for
//! it: the first append after a quiet interval is announced at once, and
//! appends within the interval by one notification at its end. Every append
//! is thus announced within [`INTERVAL`] of returning.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sqlx::PgConnection;
use sqlx::postgres::PgPool;

use crate::sql::statement;

/// The shortest time between two notifications of one store.
pub(crate) const INTERVAL: Duration = Duration::from_millis(50);

/// When to send the next notification.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Now: none was sent within the last interval.
    Now,
    /// After this pause, when the interval since the last one has passed.
    After(Duration),
    /// Nothing to do: a notification is due, and goes out after this append.
    Covered,
}

#[derive(Debug, Default)]
struct Window {
    last_sent: Option<Instant>,
    /// A notification waits for the end of the interval.
    due: bool,
}

impl Window {
    fn plan(&mut self, now: Instant) -> Plan {
        if self.due {
            return Plan::Covered;
        }
        match self.last_sent {
            Some(last) if now < last + INTERVAL => {
                self.due = true;
                Plan::After(last + INTERVAL - now)
            }
            _ => {
                self.last_sent = Some(now);
                Plan::Now
            }
        }
    }

    /// The waiting notification is being sent now.
    fn sending(&mut self, now: Instant) {
        self.due = false;
        self.last_sent = Some(now);
    }
}

/// One store's announcements, shared by its clones.
#[derive(Debug)]
pub(crate) struct FeedAnnouncer {
    window: Mutex<Window>,
    notify: Arc<str>,
    channel: Arc<str>,
}

impl FeedAnnouncer {
    /// Announces on `channel` with the statement `notify` (`sql/notify_feed.sql`).
    pub(crate) fn new(notify: Arc<str>, channel: String) -> Self {
        Self {
            window: Mutex::default(),
            notify,
            channel: channel.into(),
        }
    }

    fn window(&self) -> MutexGuard<'_, Window> {
        // Poisoned only by a panic elsewhere while holding the lock; the
        // worst a broken window does is announce once too often.
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn plan(&self) -> Plan {
        self.window().plan(Instant::now())
    }

    /// Announces an append that has committed.
    pub(crate) fn committed(self: &Arc<Self>, pool: &PgPool) {
        match self.plan() {
            Plan::Now => self.spawn(pool, Duration::ZERO),
            Plan::After(pause) => self.spawn(pool, pause),
            Plan::Covered => {}
        }
    }

    /// Announces an append made inside the caller's transaction on `conn`,
    /// which commits later: the notification, when one is sent now, goes
    /// into that transaction (PostgreSQL delivers it on commit). One that
    /// waits for the end of the interval is sent on its own, and reaches
    /// subscribers before the events if the caller has not committed by
    /// then; they then see the events at their next poll or announcement.
    pub(crate) async fn in_transaction(
        self: &Arc<Self>,
        conn: &mut PgConnection,
        pool: &PgPool,
    ) -> Result<(), sqlx::Error> {
        match self.plan() {
            Plan::Now => self.send(conn).await,
            Plan::After(pause) => {
                self.spawn(pool, pause);
                Ok(())
            }
            Plan::Covered => Ok(()),
        }
    }

    async fn send(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query(statement(&self.notify))
            .bind(&*self.channel)
            .execute(conn)
            .await
            .map(drop)
    }

    /// Sends a notification after `pause`, from a task on the current tokio
    /// runtime (outside one, nothing is sent: subscribers poll).
    fn spawn(self: &Arc<Self>, pool: &PgPool, pause: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (announcer, pool) = (self.clone(), pool.clone());
        runtime.spawn(async move {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
                announcer.window().sending(Instant::now());
            }
            let sent = async { announcer.send(&mut *pool.acquire().await?).await }.await;
            if let Err(e) = sent {
                // A hint only: subscribers poll as well.
                tracing::debug!(channel = %announcer.channel, error = %e, "could not announce new events");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_notification_per_interval_and_one_after_the_last_append() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut window = Window::default();
        assert_eq!(window.plan(at(0)), Plan::Now);
        // Within the interval: one notification at its end covers them all.
        assert_eq!(window.plan(at(10)), Plan::After(Duration::from_millis(40)));
        assert_eq!(window.plan(at(20)), Plan::Covered);
        assert_eq!(window.plan(at(49)), Plan::Covered);
        // It is sent at 50; an append after that needs another one, due
        // an interval after it.
        window.sending(at(50));
        assert_eq!(window.plan(at(60)), Plan::After(Duration::from_millis(40)));
        window.sending(at(100));
        // After a quiet interval, at once.
        assert_eq!(window.plan(at(150)), Plan::Now);
        assert_eq!(window.plan(at(300)), Plan::Now);
    }
}
