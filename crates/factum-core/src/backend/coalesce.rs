//! [`AppendQueue`]: concurrent appends combined into shared transactions.
//!
//! A database commit costs the same for one append as for ten, so a store
//! that lets concurrent appends share a transaction (and its commit, and on
//! SQLite its `fsync`) writes several times as many. Callers queue their
//! appends. When no batch is being committed, the caller that queued leads:
//! it takes what is queued as a batch. A batch of its own append alone it
//! commits itself, as if there were no queue (a lone caller pays a lock
//! and a channel, no task hop); a larger one, and every batch that forms
//! while one commits, a committer task commits, one after the other,
//! answering each caller, until the queue is empty (it yields once before
//! taking each batch, so that callers it has just answered, appending
//! again, join it rather than start a batch of one). There is no timer: a
//! lone caller's append is committed at once.
//!
//! The backend says how a batch is committed. Each append must keep its
//! own outcome (a conflict fails that append alone, with the error it
//! would get alone).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::{AppendResult, Error, Result};

/// Appends waiting to be committed together; `R` is what the backend needs
/// of one append (its `StreamAppend`s, prepared).
#[derive(Debug)]
pub struct AppendQueue<R> {
    state: Arc<Mutex<QueueState<R>>>,
}

#[derive(Debug)]
struct QueueState<R> {
    waiting: Vec<QueuedAppend<R>>,
    /// Whether a batch is being formed or committed (by a leading caller
    /// or the committer task): it takes what is waiting next.
    committing: bool,
    max_batch: usize,
}

/// One queued append: the backend's request, and where its outcome goes.
#[derive(Debug)]
pub struct QueuedAppend<R> {
    /// The append, as the backend prepared it.
    pub request: R,
    reply: oneshot::Sender<Result<Vec<AppendResult>>>,
}

impl<R> QueuedAppend<R> {
    /// Hands the append's outcome to its caller.
    pub fn finish(self, outcome: Result<Vec<AppendResult>>) {
        // A caller that stopped waiting no longer wants the outcome.
        let _ = self.reply.send(outcome);
    }

    /// Whether the caller stopped waiting (its future was dropped) before
    /// the append was taken into a batch: it is skipped, so that an append
    /// given up on is not written later behind its caller's back.
    fn is_abandoned(&self) -> bool {
        self.reply.is_closed()
    }
}

impl<R> QueueState<R> {
    /// The next batch: the appends waiting, oldest first, without those
    /// abandoned; `None` when none waits, and the batches stop.
    fn take(&mut self) -> Option<Vec<QueuedAppend<R>>> {
        self.waiting.retain(|queued| !queued.is_abandoned());
        if self.waiting.is_empty() {
            self.committing = false;
            return None;
        }
        let take = self.waiting.len().min(self.max_batch);
        Some(self.waiting.drain(..take).collect())
    }
}

impl<R: Send + 'static> AppendQueue<R> {
    /// A queue whose batches hold at most `max_batch` appends (at least 1).
    pub fn new(max_batch: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(QueueState {
                waiting: Vec::new(),
                committing: false,
                max_batch: max_batch.max(1),
            })),
        }
    }

    /// Queues `request` and waits for its outcome. `commit` commits one
    /// batch and [`finish`](QueuedAppend::finish)es every append in it;
    /// it is called by this caller (for a batch of its own append alone)
    /// or by a committer task.
    ///
    /// Should the committer stop before answering (its task aborted as the
    /// runtime shuts down), the append fails with a backend error: it may
    /// or may not have been committed.
    pub async fn append<C, F>(&self, request: R, commit: C) -> Result<Vec<AppendResult>>
    where
        C: Fn(Vec<QueuedAppend<R>>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let lead = {
            let mut state = self.lock();
            state.waiting.push(QueuedAppend { request, reply });
            !std::mem::replace(&mut state.committing, true)
        };
        if lead {
            self.lead(commit).await;
        }
        outcome.await.unwrap_or_else(|_| {
            Err(Error::backend(
                "append queue",
                "committing a batch of appends",
                "the committer stopped before it answered; the append may or may not be stored",
            ))
        })
    }

    /// Takes the first batch: commits it here when it is this caller's
    /// append alone, else hands it to a committer task; then hands what
    /// waits by then to one.
    async fn lead<C, F>(&self, commit: C)
    where
        C: Fn(Vec<QueuedAppend<R>>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        // Should this caller stop leading early (its future dropped), the
        // guard hands the queue to a committer task.
        let mut guard: Leading<R, C, F> = Leading {
            state: self.state.clone(),
            commit: Some(commit.clone()),
        };
        let batch = self.lock().take();
        match batch {
            Some(batch) if batch.len() == 1 => {
                commit(batch).await;
                guard.hand_over();
            }
            Some(batch) => {
                guard.commit = None;
                let state = self.state.clone();
                tokio::spawn(async move {
                    commit(batch).await;
                    committer(state, commit).await;
                });
            }
            None => guard.commit = None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The committer task: commits the batches that form, one after the
/// other, until none waits.
async fn committer<R, C, F>(state: Arc<Mutex<QueueState<R>>>, commit: C)
where
    R: Send + 'static,
    C: Fn(Vec<QueuedAppend<R>>) -> F,
    F: Future<Output = ()>,
{
    let mut stopping = Stopping {
        state: state.clone(),
        early: true,
    };
    loop {
        // Appends arriving at the same moment join this batch.
        tokio::task::yield_now().await;
        let batch = state.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(batch) = batch else { break };
        commit(batch).await;
    }
    stopping.early = false;
}

/// A caller leading the first batch; dropped before it is done (its
/// future dropped while it committed), it hands the appends waiting after
/// its own to a committer task all the same.
struct Leading<R, C, F>
where
    R: Send + 'static,
    C: Fn(Vec<QueuedAppend<R>>) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    state: Arc<Mutex<QueueState<R>>>,
    /// `None` once the queue is in a committer's hands.
    commit: Option<C>,
}

impl<R, C, F> Leading<R, C, F>
where
    R: Send + 'static,
    C: Fn(Vec<QueuedAppend<R>>) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    /// Starts a committer task for what waits now, or ends the batches.
    fn hand_over(&mut self) {
        let Some(commit) = self.commit.take() else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting.retain(|queued| !queued.is_abandoned());
        if state.waiting.is_empty() {
            state.committing = false;
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(committer(self.state.clone(), commit));
            }
            // No runtime to run a committer: the waiting appends' callers
            // get an error rather than waiting for ever.
            Err(_) => {
                state.committing = false;
                state.waiting.clear();
            }
        }
    }
}

impl<R, C, F> Drop for Leading<R, C, F>
where
    R: Send + 'static,
    C: Fn(Vec<QueuedAppend<R>>) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    fn drop(&mut self) {
        self.hand_over();
    }
}

/// Ends the batches when a committer task stops early (aborted): the
/// waiting appends' callers get an error rather than waiting for ever.
struct Stopping<R> {
    state: Arc<Mutex<QueueState<R>>>,
    /// Whether the task stops before the queue was empty.
    early: bool,
}

impl<R> Drop for Stopping<R> {
    fn drop(&mut self) {
        if self.early {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.committing = false;
            state.waiting.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamId;

    /// The outcome the test committer gives request `n`.
    fn outcome(n: usize) -> Vec<AppendResult> {
        vec![AppendResult {
            stream_id: StreamId::new(format!("s-{n}")).unwrap(),
            current_version: Some(n as u64),
            events: Vec::new(),
        }]
    }

    /// A commit that records the batch's size and answers request `n` with
    /// [`outcome`]`(n)`.
    fn recording(
        sizes: Arc<Mutex<Vec<usize>>>,
    ) -> impl Fn(Vec<QueuedAppend<usize>>) -> futures::future::BoxFuture<'static, ()>
    + Clone
    + Send
    + Sync
    + 'static {
        move |batch| {
            let sizes = sizes.clone();
            Box::pin(async move {
                sizes.lock().unwrap().push(batch.len());
                tokio::task::yield_now().await;
                for queued in batch {
                    let n = queued.request;
                    queued.finish(Ok(outcome(n)));
                }
            })
        }
    }

    #[tokio::test]
    async fn a_lone_append_is_a_batch_of_one() {
        let queue = AppendQueue::new(8);
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let commit = recording(sizes.clone());
        assert_eq!(queue.append(3, commit.clone()).await.unwrap(), outcome(3));
        assert_eq!(queue.append(4, commit).await.unwrap(), outcome(4));
        assert_eq!(*sizes.lock().unwrap(), vec![1, 1]);
    }

    #[tokio::test]
    async fn appends_sent_together_share_batches() {
        let queue = Arc::new(AppendQueue::new(4));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let commit = recording(sizes.clone());
        let calls: Vec<_> = (1..=9)
            .map(|n| {
                let (queue, commit) = (queue.clone(), commit.clone());
                async move { queue.append(n, commit).await.unwrap() }
            })
            .collect();
        let outcomes = futures::future::join_all(calls).await;
        let expected: Vec<_> = (1..=9).map(outcome).collect();
        assert_eq!(outcomes, expected, "each its own outcome");
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 9);
        assert!(
            sizes.iter().all(|&s| s <= 4),
            "batches of at most 4: {sizes:?}"
        );
        assert_eq!(
            sizes.len(),
            3,
            "9 appends in 3 batches (the leader's own, then 4 and 4): {sizes:?}"
        );
    }

    #[tokio::test]
    async fn an_abandoned_append_is_not_committed() {
        let queue = Arc::new(AppendQueue::new(8));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let commit = recording(sizes.clone());
        // The first caller leads; the second queues behind it and gives up
        // before the batch is taken.
        let mut first = Box::pin(queue.append(1, commit.clone()));
        assert!(
            futures::poll!(first.as_mut()).is_pending(),
            "the leader's commit is in flight"
        );
        let mut second = Box::pin(queue.append(2, commit.clone()));
        assert!(futures::poll!(second.as_mut()).is_pending());
        drop(second);
        assert_eq!(first.await.unwrap(), outcome(1));
        assert_eq!(
            *sizes.lock().unwrap(),
            vec![1],
            "the abandoned append is skipped"
        );
    }

    #[tokio::test]
    async fn a_leader_dropped_while_committing_leaves_the_queue_working() {
        let queue = Arc::new(AppendQueue::new(8));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        // A commit that never finishes its first batch.
        let stuck = {
            let sizes = sizes.clone();
            move |batch: Vec<QueuedAppend<usize>>| -> futures::future::BoxFuture<'static, ()> {
                let sizes = sizes.clone();
                Box::pin(async move {
                    sizes.lock().unwrap().push(batch.len());
                    if batch.iter().any(|q| q.request == 1) {
                        std::future::pending::<()>().await;
                    }
                    for queued in batch {
                        let n = queued.request;
                        queued.finish(Ok(outcome(n)));
                    }
                })
            }
        };
        let mut first = Box::pin(queue.append(1, stuck.clone()));
        assert!(futures::poll!(first.as_mut()).is_pending());
        assert!(
            futures::poll!(first.as_mut()).is_pending(),
            "committing, for ever"
        );
        let second = tokio::spawn({
            let queue = queue.clone();
            async move { queue.append(2, stuck).await }
        });
        tokio::task::yield_now().await;
        drop(first);
        assert_eq!(second.await.unwrap().unwrap(), outcome(2));
    }
}
