//! [`Repository`]: loads aggregates from a store, runs commands, appends the
//! events and retries on version conflicts.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;

use super::logic::Aggregate;
use crate::codec::from_bytes;
use crate::{
    AppendResult, Codec, Error, EventStore, ExpectedVersion, Json, Metadata, ReadOptions, Result,
    Snapshot, StreamId, Upcasters,
};

/// When the repository saves a snapshot of an aggregate's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotPolicy {
    /// Never; loading folds every event (and ignores stored snapshots).
    #[default]
    Never,
    /// After an append that crosses a multiple of this many events.
    Every(u64),
}

/// An aggregate's state as loaded, and the stream version it reflects
/// (`None`: the stream does not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<A> {
    /// The folded state.
    pub state: A,
    /// The last event folded in.
    pub version: Option<u64>,
}

/// What a successful [`Repository::execute`] did.
#[derive(Debug)]
pub struct Executed<A: Aggregate> {
    /// The state after the new events.
    pub state: A,
    /// The stream version after the append.
    pub version: Option<u64>,
    /// The events the command caused (empty: nothing was written).
    pub events: Vec<A::Event>,
    /// The store's report, `None` when nothing was written.
    pub append: Option<AppendResult>,
    /// How many times the command was handled (more than 1 after conflicts).
    pub attempts: u32,
}

/// Why [`Repository::execute`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The aggregate refused the command; nothing was written.
    #[error("command refused: {0}")]
    Domain(#[source] E),
    /// The store failed, or conflicts outlasted the retries (then this is an
    /// [`Error::VersionConflict`]).
    #[error(transparent)]
    Store(#[from] Error),
}

/// Loads and runs aggregates of type `A` over the store `S`, writing events
/// with the codec `C`.
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
    upcasters: Upcasters,
    snapshots: SnapshotPolicy,
    max_retries: u32,
    aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate, S: EventStore> Repository<A, S, Json> {
    /// A repository writing JSON, without snapshots, retrying a conflicting
    /// command up to 16 times.
    pub fn new(store: S) -> Self {
        Self {
            store,
            codec: Json,
            upcasters: Upcasters::new(),
            snapshots: SnapshotPolicy::Never,
            max_retries: 16,
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
            max_retries: self.max_retries,
            aggregate: PhantomData,
        }
    }

    /// Runs `upcasters` on every event read before decoding it.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Takes snapshots by `policy`, and loads from them.
    pub fn with_snapshots(mut self, policy: SnapshotPolicy) -> Self {
        self.snapshots = policy;
        self
    }

    /// Retries a command at most `retries` times after version conflicts.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The stream of the aggregate `id`: `"{CATEGORY}-{id}"`.
    pub fn stream_id(&self, id: &str) -> Result<StreamId> {
        Ok(StreamId::new(format!("{}-{id}", A::CATEGORY))?)
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
            loaded.state.apply(&self.upcasters.decode(&recorded)?);
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
    /// version as expectation, and on a conflict does it all again (up to the
    /// retry limit). A command that causes no event writes nothing.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_with(id, command, Metadata::default()).await
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
        let mut attempts = 0;
        loop {
            attempts += 1;
            let Loaded { mut state, version } = self.fold(&stream, None).await?;
            let events = state
                .handle(command.clone())
                .map_err(ExecuteError::Domain)?;
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
                Err(e) if e.is_version_conflict() && attempts <= self.max_retries => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn fold(&self, stream: &StreamId, until: Option<u64>) -> Result<Loaded<A>> {
        let mut loaded = Loaded {
            state: A::default(),
            version: None,
        };
        if let Some(snapshot) = self.usable_snapshot(stream, until).await? {
            loaded = snapshot;
        }
        let mut options = ReadOptions::all().with_from_version(loaded.version.unwrap_or(0) + 1);
        if let Some(until) = until {
            options = options.with_to_version(until);
        }
        let mut events = self.store.read_stream_payloads(stream, options);
        while let Some(recorded) = events.try_next().await? {
            loaded
                .state
                .apply(&self.upcasters.decode_payload(&recorded)?);
            loaded.version = Some(recorded.stream_version);
        }
        Ok(loaded)
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
        match from_bytes::<A>(snapshot.format, &snapshot.state) {
            Ok(state) => Ok(Some(Loaded {
                state,
                version: Some(snapshot.stream_version),
            })),
            Err(e) => {
                tracing::warn!(stream = %stream, error = %e, "ignoring a snapshot that does not decode");
                Ok(None)
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
