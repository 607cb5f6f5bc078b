//! A runner's place in the global feed: reads pages, and waits for the
//! store's feed signal or the poll interval. (Like core's subscription
//! cursor, which is private to core.)

use std::time::Duration;

use factum_core::{EventReader, FeedSignal, GlobalPosition, RecordedEvent, Result};

use crate::PostgresStore;

pub(crate) struct Cursor {
    after: GlobalPosition,
    signal: Option<FeedSignal>,
    batch_size: usize,
    poll_interval: Duration,
}

impl Cursor {
    pub(crate) fn new(
        store: &PostgresStore,
        after: Option<GlobalPosition>,
        batch_size: usize,
        poll_interval: Duration,
    ) -> Self {
        Self {
            after: after.unwrap_or(GlobalPosition::START),
            signal: store.feed_signal(),
            batch_size: batch_size.max(1),
            poll_interval,
        }
    }

    /// The next page, possibly empty when caught up; never waits.
    pub(crate) async fn read_page(&mut self, store: &PostgresStore) -> Result<Vec<RecordedEvent>> {
        if let Some(signal) = self.signal.as_mut() {
            signal.mark_seen();
        }
        let page = store.read_all(self.after, self.batch_size).await?;
        if let Some(last) = page.last() {
            self.after = last.position;
        }
        Ok(page)
    }

    /// Waits for the feed signal or the poll interval, whichever comes
    /// first.
    pub(crate) async fn wait(&mut self) {
        let pause = tokio::time::sleep(self.poll_interval);
        match self.signal.as_mut() {
            Some(signal) => {
                tokio::select! {
                    () = signal.changed() => {}
                    () = pause => {}
                }
            }
            None => pause.await,
        }
    }
}
