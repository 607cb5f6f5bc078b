//! [`FeedNotifier`] and [`FeedSignal`]: how a backend tells subscribers that
//! new events may have been committed. A hint only: subscribers also poll.

use tokio::sync::watch;

/// The backend's side: call [`notify`](Self::notify) after each commit.
#[derive(Debug)]
pub struct FeedNotifier(watch::Sender<u64>);

/// A subscriber's side: resolves when the backend signalled since the last
/// call. No signal is lost between two calls.
#[derive(Debug, Clone)]
pub struct FeedSignal(watch::Receiver<u64>);

impl Default for FeedNotifier {
    fn default() -> Self {
        Self(watch::Sender::new(0))
    }
}

impl FeedNotifier {
    /// A notifier nobody listens to yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells every subscriber that new events may be there.
    pub fn notify(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A signal for one more subscriber.
    pub fn signal(&self) -> FeedSignal {
        FeedSignal(self.0.subscribe())
    }
}

impl FeedSignal {
    /// Forgets the signals received so far: call it before reading the feed,
    /// so that a commit during the read wakes the next [`changed`](Self::changed).
    pub fn mark_seen(&mut self) {
        self.0.borrow_and_update();
    }

    /// Resolves at the next signal since [`mark_seen`](Self::mark_seen), or
    /// never when the backend is gone (callers race it against a poll timer).
    pub async fn changed(&mut self) {
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
