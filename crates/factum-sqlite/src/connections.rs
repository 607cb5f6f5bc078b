//! A small fixed set of long-lived connections, each behind an async mutex.
//!
//! Used instead of an sqlx pool because a pool returns every released
//! connection through a spawned task and a ping, an extra round trip to the
//! connection's worker thread per operation: on the writer, whose single
//! connection serializes the appends, that round trip was a large part of a
//! one-event append (the figure is in `benches/README.md`, "Figures cited by
//! the code"). A tokio mutex hands the connection straight to the next
//! waiter, in FIFO order. Connections live as long as the store; a dropped
//! operation leaves its rollback queued on the connection, ahead of the
//! next user's commands.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// The connections of one role (the writer, or the readers).
#[derive(Debug)]
pub(crate) struct Connections {
    /// `None` once closed.
    slots: Vec<Mutex<Option<SqliteConnection>>>,
    /// Where a caller waits when every connection is busy.
    next: AtomicUsize,
}

impl Connections {
    /// Opens `count` (at least one) connections with `options`.
    pub(crate) async fn open(
        options: &SqliteConnectOptions,
        count: usize,
    ) -> Result<Self, sqlx::Error> {
        let mut slots = Vec::with_capacity(count.max(1));
        for _ in 0..count.max(1) {
            slots.push(Mutex::new(Some(options.connect().await?)));
        }
        Ok(Self {
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection, or the next one to become free. Fails with
    /// [`sqlx::Error::PoolClosed`] once [`close`](Self::close) was called.
    pub(crate) async fn acquire(&self) -> Result<ReadConnection<'_>, sqlx::Error> {
        let guard = match self.slots.iter().find_map(|slot| slot.try_lock().ok()) {
            Some(guard) => guard,
            None => {
                let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
                match self.slots.get(turn) {
                    Some(slot) => slot.lock().await,
                    None => return Err(sqlx::Error::PoolClosed),
                }
            }
        };
        MutexGuard::try_map(guard, Option::as_mut)
            .map(ReadConnection)
            .map_err(|_| sqlx::Error::PoolClosed)
    }

    /// Closes every connection once its current user is done.
    pub(crate) async fn close(&self) {
        for slot in &self.slots {
            if let Some(conn) = slot.lock().await.take() {
                // Closing only fails if the connection's worker is gone, and
                // then the connection is closed all the same.
                let _ = sqlx::Connection::close(conn).await;
            }
        }
    }
}

/// Exclusive use of one of the store's connections until dropped: see
/// [`SqliteStore::read_connection`](crate::SqliteStore::read_connection).
/// Dereferences to sqlx's `SqliteConnection`.
pub struct ReadConnection<'a>(MappedMutexGuard<'a, SqliteConnection>);

impl std::fmt::Debug for ReadConnection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadConnection").finish_non_exhaustive()
    }
}

impl Deref for ReadConnection<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.0
    }
}

impl DerefMut for ReadConnection<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }
}
