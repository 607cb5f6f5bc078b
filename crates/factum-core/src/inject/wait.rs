//! The handle of an injection that runs in the background
//! ([`InjectAndWait`]) and the wait for its response ([`AwaitResponse`]).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{InjectStatus, Prepared, Written};
use crate::backend::Backoff;
use crate::{Error, EventStore, ReadOptions, RecordedEvent, Result, StreamId};

/// An injection going on in the background, from
/// [`InjectEvents::idempotent_inject_event_and_wait`](super::InjectEvents::idempotent_inject_event_and_wait).
///
/// Dropping it does not stop the injection. `.await` it for the
/// injection's outcome, an [`AwaitResponse`]; or call
/// [`response`](Self::response) for the response at once.
pub struct InjectAndWait<S> {
    store: S,
    injection: Injection,
}

/// Where the background injection stands.
#[derive(Debug)]
enum Injection {
    /// Running (or done) in its task.
    Running {
        /// The group, for errors.
        group: StreamId,
        task: JoinHandle<Result<Written>>,
    },
    /// It could not start: the event did not encode, its correlation id is
    /// no stream id, or there is no runtime to run it in.
    Failed(Error),
}

impl<S: EventStore + Clone + 'static> InjectAndWait<S> {
    /// Starts writing `prepared` in a task of its own.
    pub(super) fn start(store: S, prepared: Result<Prepared>) -> Self {
        let injection = match prepared {
            Err(error) => Injection::Failed(error),
            Ok(prepared) => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => Injection::Running {
                    group: prepared.group.clone(),
                    task: runtime.spawn({
                        let store = store.clone();
                        async move { prepared.write(&store).await }
                    }),
                },
                Err(no_runtime) => Injection::Failed(Error::backend(
                    "core",
                    format!("injecting into correlation group {}", prepared.group),
                    format!("the injection runs in the background, on tokio: {no_runtime}"),
                )),
            },
        };
        Self { store, injection }
    }

    /// Waits for the injection to finish, and returns what it did, ready
    /// to wait for the response. Fails as
    /// [`InjectEvents::idempotent_inject_event`](super::InjectEvents::idempotent_inject_event)
    /// would.
    pub async fn injected(self) -> Result<AwaitResponse<S>> {
        let written = match self.injection {
            Injection::Failed(error) => return Err(error),
            Injection::Running { group, task } => task.await.map_err(|stopped| {
                Error::backend(
                    "core",
                    format!("injecting into correlation group {group}"),
                    stopped,
                )
            })??,
        };
        Ok(AwaitResponse {
            store: self.store,
            group: written.group,
            after_version: written.version,
            status: written.status,
        })
    }

    /// Waits for the injection, then for the next event of its correlation
    /// group (the response), and returns it; see
    /// [`AwaitResponse::response`].
    pub async fn response(self, timeout: Duration) -> Result<RecordedEvent> {
        self.injected().await?.response(timeout).await
    }
}

/// Shows the injection, not the store (which need not be `Debug`).
impl<S> fmt::Debug for InjectAndWait<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InjectAndWait")
            .field("injection", &self.injection)
            .finish_non_exhaustive()
    }
}

impl<S: EventStore + Clone + 'static> IntoFuture for InjectAndWait<S> {
    type Output = Result<AwaitResponse<S>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    /// [`injected`](InjectAndWait::injected).
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.injected())
    }
}

/// An injected event waiting for the next event of its correlation group
/// (the response to a request). See
/// [`InjectEvents::idempotent_inject_event_and_wait`](super::InjectEvents::idempotent_inject_event_and_wait).
pub struct AwaitResponse<S> {
    store: S,
    group: StreamId,
    after_version: u64,
    /// What the injection did.
    pub status: InjectStatus,
}

/// Shows what the injection did, not the store (which need not be
/// `Debug`).
impl<S> fmt::Debug for AwaitResponse<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwaitResponse")
            .field("group", &self.group)
            .field("after_version", &self.after_version)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<S: EventStore> AwaitResponse<S> {
    /// Waits until an event follows the injected one in its correlation
    /// group, and returns it; fails with [`Error::Timeout`] after `timeout`.
    /// When the injection was a duplicate and the response already exists,
    /// it returns at once.
    pub async fn response(self, timeout: Duration) -> Result<RecordedEvent> {
        let options = ReadOptions::all()
            .with_from_version(self.after_version + 1)
            .with_limit(1);
        let mut backoff = Backoff::new(timeout);
        loop {
            if let Some(next) = self.store.read_stream(&self.group, options).await?.pop() {
                return Ok(next);
            }
            if !backoff.pause().await {
                return Err(Error::Timeout {
                    waiting_for: format!(
                        "a response in correlation group {} after version {}",
                        self.group, self.after_version
                    ),
                    timeout,
                });
            }
        }
    }
}
