//! In-memory backend of factum: the seven guarantees of `docs/design.md`
//! (section 4), no persistence. For tests and prototypes; [`Faults`] make
//! it fail (before an operation, or after a write: an ambiguous outcome)
//! and lag on purpose.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> factum_core::Result<()> {
//! use factum_core::{EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamId};
//! use factum_memory::MemoryStore;
//!
//! let store = MemoryStore::new();
//! let stream = StreamId::new("cart-1")?;
//! store
//!     .append(&stream, ExpectedVersion::NoStream, vec![EventData::json("ItemAdded", br#"{"sku":"a"}"#.to_vec())])
//!     .await?;
//! let events = store.read_stream(&stream, ReadOptions::all()).await?;
//! assert_eq!(events[0].stream_version, 1);
//! # Ok(()) }
//! ```

mod faults;
mod state;

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use factum_core::backend::{describe_appends, validate_appends};
use factum_core::{
    AppendCondition, AppendResult, CheckpointStore, EventAppender, EventFilter, EventReader,
    FeedNotifier, FeedPage, FeedSignal, GlobalPosition, ParkedEvent, ReadOptions, RecordedEvent,
    Result, Snapshot, SnapshotStore, StreamAppend, StreamId, StreamVersions,
};
use futures::stream::{self, BoxStream, StreamExt};

use faults::{Answer, FaultInjector};
pub use faults::{Faults, InjectedFault};
use state::State;

/// Events a lazy stream read copies out per lock acquisition.
const PAGE_SIZE: usize = 512;

/// A thread-safe event store held in memory. Writers are serialized by one
/// lock, so versions and positions are plain counters.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    faults: Option<FaultInjector>,
    notifier: FeedNotifier,
}

impl MemoryStore {
    /// An empty store that never fails.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that injects `faults` into every operation.
    pub fn with_faults(faults: Faults) -> Self {
        Self {
            faults: Some(FaultInjector::new(faults)),
            ..Self::default()
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written:
        // appends check everything before their first write.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The faults before a read.
    async fn before(&self, operation: impl FnOnce() -> String) -> Result<()> {
        match &self.faults {
            Some(faults) => faults.before(operation).await,
            None => Ok(()),
        }
    }

    /// The faults before a write, and what it answers once done.
    async fn before_write(&self, operation: impl Fn() -> String) -> Result<Answer> {
        match &self.faults {
            Some(faults) => faults.before_write(operation).await,
            None => Ok(Answer::default()),
        }
    }
}

#[async_trait]
impl EventAppender for MemoryStore {
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        let answer = self.before_write(|| describe_appends(&appends)).await?;
        let results = self.state().append(appends, None)?;
        self.notifier.notify();
        answer.deliver(results)
    }

    async fn append_if(
        &self,
        appends: Vec<StreamAppend>,
        condition: AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        validate_appends(&appends)?;
        let answer = self.before_write(|| describe_appends(&appends)).await?;
        let results = self.state().append(appends, Some(&condition))?;
        self.notifier.notify();
        answer.deliver(results)
    }
}

#[async_trait]
impl EventReader for MemoryStore {
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>> {
        /// Where a lazy read stands: the next version to read (`None`
        /// before the first page) and how many events the limit still allows.
        struct Cursor {
            next: Option<u64>,
            remaining: usize,
            started: bool,
        }
        let start = Cursor {
            next: None,
            remaining: options.limit().unwrap_or(usize::MAX),
            started: false,
        };
        stream::unfold(start, move |cursor| async move {
            if cursor.started && (cursor.next.is_none() || cursor.remaining == 0) {
                return None;
            }
            if !cursor.started
                && let Err(e) = self.before(|| format!("reading stream {stream}")).await
            {
                let done = Cursor {
                    next: None,
                    remaining: 0,
                    started: true,
                };
                return Some((vec![Err(e)], done));
            }
            let max = cursor.remaining.min(PAGE_SIZE);
            let (page, next) = self.state().stream_page(stream, &options, cursor.next, max);
            if page.is_empty() {
                return None;
            }
            let after = Cursor {
                next,
                remaining: cursor.remaining - page.len(),
                started: true,
            };
            Some((page.into_iter().map(Ok).collect(), after))
        })
        .flat_map(stream::iter)
        .boxed()
    }

    async fn read_all(&self, after: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.before(|| format!("reading the global feed after {after}"))
            .await?;
        Ok(self.state().read_all(after, limit))
    }

    async fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        self.before(|| format!("reading the global feed after {after} through a filter"))
            .await?;
        Ok(self.state().read_feed(after, limit, filter))
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        self.before(|| format!("reading the version of stream {stream}"))
            .await?;
        Ok(self.state().stream_version(stream))
    }

    async fn head_position(&self) -> Result<Option<GlobalPosition>> {
        self.before(|| "reading the head position".to_owned())
            .await?;
        Ok(self.state().head_position())
    }

    /// The head and every version under one hold of the lock: one point.
    async fn stream_versions(&self, streams: &[StreamId]) -> Result<StreamVersions> {
        self.before(|| format!("reading the versions of {} streams", streams.len()))
            .await?;
        let state = self.state();
        Ok(StreamVersions {
            position: state.head_position(),
            versions: streams.iter().map(|s| state.stream_version(s)).collect(),
        })
    }

    fn feed_signal(&self) -> Option<FeedSignal> {
        Some(self.notifier.signal())
    }
}

#[async_trait]
impl SnapshotStore for MemoryStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        let answer = self
            .before_write(|| format!("saving a snapshot of stream {}", snapshot.stream_id))
            .await?;
        let mut state = self.state();
        let newer_exists = state
            .snapshots
            .get(&snapshot.stream_id)
            .is_some_and(|old| old.stream_version > snapshot.stream_version);
        if !newer_exists {
            state.snapshots.insert(snapshot.stream_id.clone(), snapshot);
        }
        answer.deliver(())
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.before(|| format!("loading the snapshot of stream {stream}"))
            .await?;
        Ok(self.state().snapshots.get(stream).cloned())
    }
}

#[async_trait]
impl CheckpointStore for MemoryStore {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>> {
        self.before(|| format!("loading checkpoint {name:?}"))
            .await?;
        Ok(self.state().checkpoints.get(name).copied())
    }

    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()> {
        let answer = self
            .before_write(|| format!("saving checkpoint {name:?}"))
            .await?;
        self.state().checkpoints.insert(name.to_owned(), position);
        answer.deliver(())
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<()> {
        let answer = self
            .before_write(|| format!("deleting checkpoint {name:?}"))
            .await?;
        self.state().checkpoints.remove(name);
        answer.deliver(())
    }

    async fn park_event(&self, parked: &ParkedEvent) -> Result<()> {
        self.before(|| {
            format!(
                "parking event {} of {:?}",
                parked.position, parked.projection
            )
        })
        .await?;
        self.state()
            .parked
            .entry(parked.projection.clone())
            .or_default()
            .insert(parked.position, parked.clone());
        Ok(())
    }

    async fn parked_events(&self, name: &str) -> Result<Vec<ParkedEvent>> {
        self.before(|| format!("listing the parked events of {name:?}"))
            .await?;
        let state = self.state();
        Ok(state
            .parked
            .get(name)
            .map(|parked| parked.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn unpark_event(&self, name: &str, position: GlobalPosition) -> Result<bool> {
        self.before(|| format!("unparking event {position} of {name:?}"))
            .await?;
        let mut state = self.state();
        Ok(state
            .parked
            .get_mut(name)
            .and_then(|parked| parked.remove(&position))
            .is_some())
    }
}
