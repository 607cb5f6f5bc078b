//! The readers that work on every backend: subscribers of the feed, and
//! core `ProjectionRunner`s keeping an in-memory read model.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use factum::{
    BoxError, EventStore, Projection, ProjectionRunner, RecordedEvent, Subscribe,
    SubscriptionOptions,
};
use futures::StreamExt;

use crate::fold::{Applied, Fold};

/// A fold shared between the task that makes it and the soak's sampler
/// and checks.
#[derive(Clone, Default)]
pub(crate) struct Shared(Arc<Mutex<Fold>>);

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Fold> {
        // A poisoned lock only means a panic elsewhere: the fold is still
        // what it was.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Follows the whole feed with `subscribe` and folds every event; an event
/// at or before the last one seen (a repeat, or order going back) is a
/// problem. Returns only if the subscription ends, which it must not.
pub(crate) async fn subscribe(
    store: Arc<dyn EventStore>,
    batch_size: usize,
    fold: Shared,
) -> String {
    let options = SubscriptionOptions::from_start()
        .with_batch_size(batch_size)
        .with_poll_interval(Duration::from_millis(100));
    let mut feed = store.subscribe(options);
    while let Some(item) = feed.next().await {
        let mut fold = fold.lock();
        match item {
            Ok(event) => {
                if fold.apply(&event) == Applied::Old {
                    let last = fold.last.map(|p| p.to_string()).unwrap_or_default();
                    fold.problem(format!(
                        "delivered position {} after {last}: a repeat, or order went back",
                        event.position
                    ));
                }
            }
            Err(e) if e.is_transient() => fold.transient_errors += 1,
            Err(e) => fold.problem(format!("the subscription yielded a lasting error: {e}")),
        }
    }
    "the subscription ended".into()
}

/// An in-memory read model for core's at-least-once runner, made
/// idempotent by the feed's order: after a restart from its checkpoint the
/// runner hands it events it has folded already, which it leaves out.
pub(crate) struct MemoryModel {
    pub(crate) name: String,
    pub(crate) fold: Shared,
}

#[async_trait]
impl Projection for MemoryModel {
    fn name(&self) -> &str {
        &self.name
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        self.fold.lock().apply(event);
        Ok(())
    }
}

/// Runs core's runner on `model` from the start of the feed until it ends,
/// which it must not: the returned text says why it did.
pub(crate) async fn run_memory(
    store: Arc<dyn EventStore>,
    model: MemoryModel,
    batch_size: usize,
) -> String {
    let mut runner = ProjectionRunner::new(store, model)
        .with_batch_size(batch_size)
        .with_poll_interval(Duration::from_millis(100));
    match runner.run().await {
        Err(e) => format!("the runner ended: {e}"),
        Ok(never) => match never {},
    }
}
