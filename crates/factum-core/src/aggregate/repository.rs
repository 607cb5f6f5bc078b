//! [`Repository`]: loads aggregates from a store, runs commands, appends the
//! events and retries on version conflicts.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use super::logic::Aggregate;
use super::outcome::{ExecuteError, Executed, Loaded};
use super::retries::Retries;
use crate::category::{AggregateCategory, CategoryUser};
use crate::codec::from_bytes;
use crate::{
    Codec, Error, EventStore, ExpectedVersion, Json, Metadata, ReadOptions, RecordedEvent,
    RecordedPayload, Result, Snapshot, StreamId, Upcasters,
};

/// Events read with the snapshot, in the same round trip: most aggregates
/// with snapshots hold fewer after their snapshot; the rest are read after.
const FIRST_PAGE: usize = 500;

/// When the repository saves a snapshot of an aggregate's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotPolicy {
    /// Never; loading folds every event (and ignores stored snapshots).
    #[default]
    Never,
    /// After an append that crosses a multiple of this many events.
    Every(u64),
}

/// Loads and runs aggregates of type `A` over the store `S`, writing events
/// with the codec `C`.
///
/// Cheap to clone when the store is: `Arc<dyn EventStore>` (what
/// `factum::open` returns), `&dyn EventStore`, and the SQLite and
/// PostgreSQL stores, whose clones share their connections. Clone it into
/// each task that executes commands; no `Arc` around it is needed.
///
/// Commands on one aggregate that race each other are retried: an attempt
/// whose append meets a version conflict pauses, reloads the aggregate and
/// handles the command again. The pauses are random (jitter) and grow: up
/// to 2 ms before the first retry, doubling to at most 400 ms, for up to 24
/// retries by default, so that a burst of 50 commands on one aggregate
/// lands in full on every backend, even on a loaded machine. Past the limit
/// (after pauses of 3.5 s on average, 7 s at most) the command fails with
/// [`ExecuteError::RetriesExhausted`].
///
/// ```
/// # use factum_core::aggregate::*;
/// # use factum_core::*;
/// # #[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
/// # struct Counter { n: u64 }
/// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct Added(u64);
/// # impl DomainEvent for Added {
/// #     const EVENT_TYPES: &'static [&'static str] = &["Added"];
/// #     fn event_type(&self) -> &'static str { "Added" }
/// # }
/// # #[derive(Debug, thiserror::Error)] #[error("never")] struct Never;
/// # impl Aggregate for Counter {
/// #     const CATEGORY: &'static str = "counter";
/// #     type Event = Added; type Command = u64; type Error = Never;
/// #     fn apply(&mut self, e: &Added) { self.n += e.0 }
/// #     fn handle(&self, by: u64) -> Result<Vec<Added>, Never> { Ok(vec![Added(by)]) }
/// # }
/// async fn add(store: impl EventStore) -> Result<(), ExecuteError<Never>> {
///     let counters = Repository::<Counter, _>::new(store).with_snapshots(SnapshotPolicy::Every(100));
///     let done = counters.execute("7", 5).await?;
///     assert_eq!(done.state.n, 5);
///     Ok(())
/// }
/// ```
pub struct Repository<A, S, C = Json> {
    store: S,
    codec: C,
    upcasters: Arc<Upcasters>,
    snapshots: SnapshotPolicy,
    retries: Retries,
    aggregate: PhantomData<fn() -> A>,
}

impl<A, S: Clone, C: Clone> Clone for Repository<A, S, C> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            codec: self.codec.clone(),
            upcasters: self.upcasters.clone(),
            snapshots: self.snapshots,
            retries: self.retries,
            aggregate: PhantomData,
        }
    }
}

impl<A: Aggregate, S: EventStore> Repository<A, S, Json> {
    /// A repository writing JSON, without snapshots, retrying a conflicting
    /// command up to 24 times after pauses with jitter (see the type's
    /// documentation).
    ///
    /// Building it checks `A::CATEGORY` at compile time (see
    /// [`Aggregate::CATEGORY`]): an empty category, or one holding `-`,
    /// fails the build.
    pub fn new(store: S) -> Self {
        let _checked = AggregateCategory::<A>::CHECKED;
        Self {
            store,
            codec: Json,
            upcasters: Arc::new(Upcasters::new()),
            snapshots: SnapshotPolicy::Never,
            retries: Retries::default(),
            aggregate: PhantomData,
        }
    }
}

impl<A: Aggregate, S: EventStore, C: Codec> Repository<A, S, C> {
    /// Writes events and snapshots with `codec` instead.
    pub fn with_codec<C2: Codec>(self, codec: C2) -> Repository<A, S, C2> {
        Repository {
            store: self.store,
            codec,
            upcasters: self.upcasters,
            snapshots: self.snapshots,
            retries: self.retries,
            aggregate: PhantomData,
        }
    }

    /// Runs `upcasters` on every event read before decoding it.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = Arc::new(upcasters);
        self
    }

    /// Takes snapshots by `policy`, and loads from them.
    pub fn with_snapshots(mut self, policy: SnapshotPolicy) -> Self {
        self.snapshots = policy;
        self
    }

    /// Retries a command at most `retries` times after version conflicts
    /// (default 24); 0 never retries.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.retries.max = retries;
        self
    }

    /// Pauses before each retry for a random time up to a step that starts
    /// at `first` and doubles after each retry, to at most `longest`
    /// (defaults: 2 ms and 400 ms). Longer pauses let larger bursts of
    /// commands on one aggregate land; zero retries at once.
    pub fn with_retry_pauses(mut self, first: Duration, longest: Duration) -> Self {
        self.retries.first_pause = first;
        self.retries.longest_pause = longest;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The stream of the aggregate `id`: `"{CATEGORY}-{id}"`.
    pub fn stream_id(&self, id: &str) -> Result<StreamId> {
        Ok(StreamId::new(format!(
            "{}-{id}",
            AggregateCategory::<A>::CHECKED
        ))?)
    }

    /// The aggregate id of `stream`, back from [`stream_id`](Self::stream_id):
    /// `"42"` for `"account-42"` when the category is `"account"`; `None`
    /// for a stream of another category (or with no id).
    pub fn aggregate_id<'s>(&self, stream: &'s StreamId) -> Option<&'s str> {
        (stream.category() == AggregateCategory::<A>::CHECKED)
            .then(|| stream.id())
            .flatten()
    }

    /// The current state of aggregate `id` (the default state when it has
    /// no event), from its snapshot when there is a usable one.
    pub async fn load(&self, id: &str) -> Result<Loaded<A>> {
        self.fold(&self.stream_id(id)?, None).await
    }

    /// The state of aggregate `id` as of stream version `version`.
    pub async fn load_at_version(&self, id: &str, version: u64) -> Result<Loaded<A>> {
        self.fold(&self.stream_id(id)?, Some(version)).await
    }

    /// The state of aggregate `id` from the events recorded at or before
    /// `at`. Folds from the first event: snapshots do not say when their
    /// events were recorded.
    pub async fn load_at_time(&self, id: &str, at: DateTime<Utc>) -> Result<Loaded<A>> {
        let stream = self.stream_id(id)?;
        let mut loaded = Loaded {
            state: A::default(),
            version: None,
        };
        let mut events = self.store.read_stream_events(&stream, ReadOptions::all());
        while let Some(recorded) = events.try_next().await? {
            if recorded.recorded_at > at {
                break;
            }
            let events = self
                .upcasters
                .decode_all(&recorded)
                .map_err(|error| undecodable::<A>(error, &recorded))?;
            for event in events {
                loaded.state.apply(&event);
            }
            loaded.version = Some(recorded.stream_version);
        }
        Ok(loaded)
    }

    /// Takes a snapshot of aggregate `id` now, whatever the policy, and
    /// returns the version it covers (`None`: no event, no snapshot).
    pub async fn take_snapshot(&self, id: &str) -> Result<Option<u64>> {
        let stream = self.stream_id(id)?;
        let loaded = self.fold(&stream, None).await?;
        let Some(version) = loaded.version else {
            return Ok(None);
        };
        self.store
            .save_snapshot(self.snapshot_of(&stream, version, &loaded.state)?)
            .await?;
        Ok(Some(version))
    }

    /// Loads `id`, handles `command`, appends the events with the loaded
    /// version as expectation, and on a conflict pauses and does it all
    /// again, up to the retry limit (then
    /// [`ExecuteError::RetriesExhausted`]). A command that causes no event
    /// writes nothing.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_with(id, command, Metadata::default()).await
    }

    /// [`execute`](Self::execute) for a command handled in response to
    /// the event `cause` (by a process manager or a policy): every event
    /// it causes carries [`Metadata::caused_by`]`(cause)`, the cause's
    /// correlation id and the cause's event id as causation id.
    pub async fn execute_caused_by(
        &self,
        id: &str,
        command: A::Command,
        cause: &RecordedEvent,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_with(id, command, Metadata::caused_by(cause))
            .await
    }

    /// [`execute`](Self::execute), writing `metadata` (correlation,
    /// causation, actor) on every event.
    pub async fn execute_with(
        &self,
        id: &str,
        command: A::Command,
        metadata: Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let stream = self.stream_id(id)?;
        let mut backoff = self.retries.backoff();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let Loaded { mut state, version } = self.fold(&stream, None).await?;
            let events = state
                .handle(command.clone())
                .map_err(|error| ExecuteError::Domain { error, attempts })?;
            if events.is_empty() {
                return Ok(Executed {
                    state,
                    version,
                    events,
                    append: None,
                    attempts,
                });
            }
            let data = events
                .iter()
                .map(|e| Ok(self.codec.encode(e)?.with_metadata(metadata.clone())))
                .collect::<Result<Vec<_>>>()?;
            let expected = version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            match self.store.append(&stream, expected, data).await {
                Ok(append) => {
                    events.iter().for_each(|e| state.apply(e));
                    self.maybe_snapshot(&stream, version, append.current_version, &state)
                        .await;
                    return Ok(Executed {
                        state,
                        version: append.current_version,
                        events,
                        append: Some(append),
                        attempts,
                    });
                }
                Err(last) if last.is_version_conflict() => {
                    if attempts > self.retries.max {
                        return Err(ExecuteError::RetriesExhausted { attempts, last });
                    }
                    backoff.pause().await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn fold(&self, stream: &StreamId, until: Option<u64>) -> Result<Loaded<A>> {
        let (mut loaded, first) = self.start(stream, until).await?;
        // The events the first read did not return, read lazily; none when
        // it returned fewer than it asked for.
        let rest = match &first {
            Some(page) if page.len() < FIRST_PAGE => futures::stream::empty().boxed(),
            _ => {
                let after = first
                    .as_ref()
                    .and_then(|page| page.last())
                    .map(|p| p.stream_version)
                    .or(loaded.version)
                    .unwrap_or(0);
                let mut options = ReadOptions::all().with_from_version(after + 1);
                if let Some(until) = until {
                    options = options.with_to_version(until);
                }
                self.store.read_stream_payloads(stream, options)
            }
        };
        let first = futures::stream::iter(first.unwrap_or_default().into_iter().map(Ok));
        let mut events = first.chain(rest);
        let failed = loop {
            let Some(recorded) = events.try_next().await? else {
                break None;
            };
            match self.upcasters.decode_payload_all(&recorded) {
                Ok(decoded) => decoded.iter().for_each(|event| loaded.state.apply(event)),
                Err(error) => break Some((recorded.stream_version, error.in_stream(stream))),
            }
            loaded.version = Some(recorded.stream_version);
        };
        drop(events);
        match failed {
            None => Ok(loaded),
            Some((version, error)) => {
                // Payloads do not say who wrote them: read the whole event.
                let options = ReadOptions::all().with_from_version(version).with_limit(1);
                Err(match self.store.read_stream(stream, options).await {
                    Ok(events) => match events.first() {
                        Some(recorded) => undecodable::<A>(error, recorded),
                        None => error,
                    },
                    Err(_) => error,
                })
            }
        }
    }

    /// Where folding starts: the usable snapshot's state (else the
    /// default), and, when the store reads them together with the snapshot
    /// in one round trip, the first payloads after it.
    async fn start(
        &self,
        stream: &StreamId,
        until: Option<u64>,
    ) -> Result<(Loaded<A>, Option<Vec<RecordedPayload>>)> {
        let empty = Loaded {
            state: A::default(),
            version: None,
        };
        if self.snapshots == SnapshotPolicy::Never {
            return Ok((empty, None));
        }
        let read = self
            .store
            .load_snapshot_with_payloads(stream, A::SNAPSHOT_VERSION, until, FIRST_PAGE)
            .await?;
        let Some(read) = read else {
            let snapshot = self.usable_snapshot(stream, until).await?;
            return Ok((snapshot.unwrap_or(empty), None));
        };
        match read.snapshot.map(|s| self.decode_snapshot(stream, &s)) {
            None => Ok((empty, Some(read.payloads))),
            Some(Some(loaded)) => Ok((loaded, Some(read.payloads))),
            // The payloads follow a snapshot that cannot be used: fold
            // from the first event instead.
            Some(None) => Ok((empty, None)),
        }
    }

    /// The stream's snapshot when snapshots are on, its schema version is
    /// current, it lies at or before `until`, and it decodes.
    async fn usable_snapshot(
        &self,
        stream: &StreamId,
        until: Option<u64>,
    ) -> Result<Option<Loaded<A>>> {
        if self.snapshots == SnapshotPolicy::Never {
            return Ok(None);
        }
        let Some(snapshot) = self.store.load_snapshot(stream).await? else {
            return Ok(None);
        };
        if snapshot.schema_version != A::SNAPSHOT_VERSION
            || until.is_some_and(|until| snapshot.stream_version > until)
        {
            return Ok(None);
        }
        Ok(self.decode_snapshot(stream, &snapshot))
    }

    /// The state `snapshot` holds; `None` (and a warning) when it does not
    /// decode.
    fn decode_snapshot(&self, stream: &StreamId, snapshot: &Snapshot) -> Option<Loaded<A>> {
        match from_bytes::<A>(snapshot.format, &snapshot.state) {
            Ok(state) => Some(Loaded {
                state,
                version: Some(snapshot.stream_version),
            }),
            Err(e) => {
                tracing::warn!(stream = %stream, error = %e, "ignoring a snapshot that does not decode");
                None
            }
        }
    }

    async fn maybe_snapshot(
        &self,
        stream: &StreamId,
        before: Option<u64>,
        after: Option<u64>,
        state: &A,
    ) {
        let SnapshotPolicy::Every(every) = self.snapshots else {
            return;
        };
        let (before, Some(after)) = (before.unwrap_or(0), after) else {
            return;
        };
        if every == 0 || before / every == after / every {
            return;
        }
        let saved = match self.snapshot_of(stream, after, state) {
            Ok(snapshot) => self.store.save_snapshot(snapshot).await,
            Err(e) => Err(e),
        };
        // The events are committed; a lost snapshot only costs a longer load.
        if let Err(e) = saved {
            tracing::warn!(stream = %stream, version = after, error = %e, "snapshot not saved");
        }
    }

    fn snapshot_of(&self, stream: &StreamId, version: u64, state: &A) -> Result<Snapshot> {
        let bytes = self.codec.to_bytes(state).map_err(|source| Error::Codec {
            action: "encode",
            event_type: format!("{} snapshot", A::CATEGORY),
            source,
        })?;
        Ok(Snapshot {
            stream_id: stream.clone(),
            stream_version: version,
            schema_version: A::SNAPSHOT_VERSION,
            format: self.codec.format(),
            state: bytes,
            taken_at: Utc::now(),
        })
    }
}

/// `error`, the failure to decode `recorded` as an event of `A`; or, when
/// `recorded` was injected into a correlation group whose prefix is `A`'s
/// category, [`Error::CategoryShared`], which says why.
fn undecodable<A: Aggregate>(error: Error, recorded: &RecordedEvent) -> Error {
    CategoryUser::aggregate::<A>()
        .refused_by(recorded)
        .unwrap_or_else(|| error.at_event(recorded))
}
