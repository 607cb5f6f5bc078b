//! The feed's wake-up on PostgreSQL: a background task holds a `LISTEN`
//! connection on the schema's channel and turns each notification into a
//! [`FeedNotifier::notify`]. Stores announce their appends on that channel
//! (see `announce.rs`).
//!
//! Notifications are a hint: those sent while the listener reconnects are
//! lost, so the task also notifies after every (re)connect, and subscribers
//! keep polling.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use factum_core::{FeedNotifier, FeedSignal};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::task::JoinHandle;

use crate::SchemaName;

/// Longest name PostgreSQL keeps for a channel or an application name.
const MAX_NAME_BYTES: usize = 63;
/// First and longest pause between two connection attempts.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// The channel announcing new events in `schema`: `factum_feed_<schema>`,
/// cut to 63 bytes. Two schemas whose names agree in
/// their first 51 bytes share a channel, which only costs extra wake-ups.
pub(crate) fn channel(schema: &SchemaName) -> String {
    cut(format!("factum_feed_{schema}"))
}

/// The `application_name` of the listener's connection, as
/// `pg_stat_activity` shows it.
pub(crate) fn application_name(schema: &SchemaName) -> String {
    cut(format!("factum-listen {schema}"))
}

/// The first 63 bytes of `name` (schema names are ASCII).
fn cut(mut name: String) -> String {
    if name.len() > MAX_NAME_BYTES {
        name.truncate(MAX_NAME_BYTES);
    }
    name
}

/// One store's listener, started on the first call of
/// [`signal`](Self::signal) and stopped when the last clone of the store is
/// dropped.
#[derive(Debug, Default)]
pub(crate) struct FeedListener {
    started: OnceLock<Started>,
}

#[derive(Debug)]
struct Started {
    notifier: Arc<FeedNotifier>,
    task: JoinHandle<()>,
}

impl FeedListener {
    /// A signal fed by the listener, starting it if needed on the current
    /// tokio runtime; `None` outside a runtime (subscribers then poll).
    pub(crate) fn signal(&self, pool: &PgPool, schema: &SchemaName) -> Option<FeedSignal> {
        if let Some(started) = self.started.get() {
            return Some(started.notifier.signal());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let started = self.started.get_or_init(|| {
            let notifier = Arc::new(FeedNotifier::new());
            // A pool of its own, so that the connection carries a name of its
            // own and never takes one of the store's.
            let options = (*pool.connect_options())
                .clone()
                .application_name(&application_name(schema));
            let own = PgPoolOptions::new()
                .max_connections(1)
                .connect_lazy_with(options);
            let task = runtime.spawn(listen(own, channel(schema), notifier.clone()));
            Started { notifier, task }
        });
        Some(started.notifier.signal())
    }
}

impl Drop for FeedListener {
    fn drop(&mut self) {
        if let Some(started) = self.started.get() {
            started.task.abort();
        }
    }
}

/// Listens until aborted: connects, notifies (notifications may have been
/// missed while not listening), forwards notifications until the connection
/// fails, and starts over after a pause.
async fn listen(pool: PgPool, channel: String, notifier: Arc<FeedNotifier>) {
    let mut pause = FIRST_PAUSE;
    loop {
        match connect(&pool, &channel).await {
            Ok(mut listener) => {
                pause = FIRST_PAUSE;
                notifier.notify();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => notifier.notify(),
                        Ok(None) => {
                            tracing::warn!(%channel, "feed listener lost its connection; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(%channel, error = %e, "feed listener failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(%channel, error = %e, "feed listener could not connect; subscribers poll meanwhile");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

async fn connect(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_postgres_identifiers() {
        let long = SchemaName::new("s".repeat(63)).expect("valid");
        assert_eq!(channel(&long).len(), 63);
        assert_eq!(application_name(&long).len(), 63);
        let short = SchemaName::new("billing").expect("valid");
        assert_eq!(channel(&short), "factum_feed_billing");
    }
}
