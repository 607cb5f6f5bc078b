//! The committer: concurrent appends to one store share a transaction
//! (core's `AppendQueue`). A batch of one is appended as ever
//! (`append.rs`); a larger one runs in one `BEGIN IMMEDIATE` transaction:
//! an append that is refused (a version conflict, a failed condition)
//! checks before it writes, so it wrote nothing and fails alone, with the
//! error it would get alone, and the others commit together, with one
//! `fsync` for all. Any other failure rolls the whole transaction back,
//! and each append of the batch is tried again alone.

use factum_core::backend::{QueuedAppend, describe_appends};
use factum_core::{FeedNotifier, StreamAppend};
use sqlx::Connection;

use super::append::{append, write};
use crate::connections::Connections;
use crate::encode::Prepared;
use crate::error::{Failure, backend_shared};
use crate::sql;

/// Appends a batch holds at most: enough to share one commit among many
/// writers, few enough that none waits long behind the others.
pub(crate) const MAX_BATCH: usize = 64;

/// One queued append, checked and encoded by its caller.
pub(crate) struct Request {
    pub(crate) appends: Vec<StreamAppend>,
    pub(crate) prepared: Prepared,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("appends", &self.appends)
            .finish_non_exhaustive()
    }
}

/// Commits one batch and answers each caller; wakes the store's
/// subscribers when it wrote anything.
pub(crate) async fn commit_batch(
    writer: &Connections,
    notifier: &FeedNotifier,
    batch: Vec<QueuedAppend<Request>>,
) {
    let wrote = if batch.len() == 1 {
        each_alone(writer, batch).await
    } else {
        commit_shared(writer, batch).await
    };
    if wrote {
        notifier.notify();
    }
}

/// Commits `batch` in one transaction and answers every caller; whether
/// anything was written. An append that is refused (a conflict, a failed
/// condition) wrote nothing and fails alone. Any other failure rolls the
/// transaction back, and each append is tried again alone.
async fn commit_shared(writer: &Connections, batch: Vec<QueuedAppend<Request>>) -> bool {
    let describe = |q: &QueuedAppend<Request>| describe_appends(&q.request.appends);
    let mut conn = match writer.acquire().await {
        Ok(conn) => conn,
        Err(e) => return fail_all(batch, |q| backend_shared(describe(q), &e)),
    };
    let mut tx = match conn.begin_with(sql::BEGIN_IMMEDIATE).await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, |q| backend_shared(describe(q), &e)),
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for queued in &batch {
        let request = &queued.request;
        match write(&mut tx, &request.appends, &request.prepared).await {
            Ok(results) => outcomes.push(Ok(results)),
            Err(Failure::Refused(error)) => outcomes.push(Err(error)),
            Err(_) => {
                let _ = tx.rollback().await;
                drop(conn);
                return each_alone(writer, batch).await;
            }
        }
    }
    if let Err(e) = tx.commit().await {
        return fail_all(batch, |q| backend_shared(describe(q), &e));
    }
    let mut wrote = false;
    for (queued, outcome) in batch.into_iter().zip(outcomes) {
        wrote |= outcome.is_ok();
        queued.finish(outcome);
    }
    wrote
}

/// Appends each of `batch` in a transaction of its own; whether anything
/// was written.
async fn each_alone(writer: &Connections, batch: Vec<QueuedAppend<Request>>) -> bool {
    let mut wrote = false;
    for queued in batch {
        let request = &queued.request;
        let outcome = append(writer, &request.appends, &request.prepared).await;
        wrote |= outcome.is_ok();
        queued.finish(outcome);
    }
    wrote
}

/// Fails every append of `batch` with the error `error` makes for it.
fn fail_all(
    batch: Vec<QueuedAppend<Request>>,
    error: impl Fn(&QueuedAppend<Request>) -> factum_core::Error,
) -> bool {
    for queued in batch {
        let e = error(&queued);
        queued.finish(Err(e));
    }
    false
}
