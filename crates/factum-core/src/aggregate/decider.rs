//! [`Decider`]: runs [`Decision`]s against a store: reads the query, folds,
//! decides, appends under the read's condition, and decides again when a
//! concurrent writer changed the facts.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::decision::{Decided, Decision};
use super::outcome::ExecuteError;
use super::retries::Retries;
use crate::{
    AppendResult, Codec, EventStore, ExpectedVersion, GlobalPosition, Json, Metadata, QueryRead,
    Result, StreamAppend, Upcasters,
};

/// A decision's state as folded from its query's events, and the position
/// the read was complete at ([`Decider::load`]).
#[derive(Debug, Clone)]
pub struct DecisionState<D> {
    /// The folded state.
    pub state: D,
    /// The position the query was read at; see [`QueryRead::position`].
    pub position: GlobalPosition,
}

/// What [`Decider::execute`] did.
#[derive(Debug)]
pub struct DecisionExecuted<D: Decision> {
    /// The state after the new events.
    pub state: D,
    /// The position the deciding read was complete at.
    pub position: GlobalPosition,
    /// The events decided, in order; empty when the decision was to write
    /// nothing.
    pub events: Vec<D::Event>,
    /// What the append did, per stream written (empty when nothing was).
    pub appends: Vec<AppendResult>,
    /// How many times the command was decided (1: no concurrent writer
    /// changed the facts).
    pub attempts: u32,
}

/// Runs decisions of type `D` over the store `S`, writing events with the
/// codec `C`: the [`Repository`](super::Repository) of decisions across
/// streams.
///
/// A command whose facts changed between its read and its append (the
/// append's condition failed: [`Error::ConditionFailed`](crate::Error))
/// is read and decided again after a pause, up to 24 times by default
/// (the same pauses as the repository's), then fails with
/// [`ExecuteError::RetriesExhausted`].
///
/// ```
/// # use factum_core::aggregate::*;
/// # use factum_core::*;
/// # #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
/// # struct Claimed(String);
/// # impl DomainEvent for Claimed {
/// #     const EVENT_TYPES: &'static [&'static str] = &["Claimed"];
/// #     fn event_type(&self) -> &'static str { "Claimed" }
/// # }
/// # #[derive(Debug, thiserror::Error)] #[error("taken")] struct Taken;
/// # #[derive(Default)] struct Unique { taken: bool }
/// # fn tag(name: &str) -> Tag { Tag::new(format!("name:{name}")).unwrap() }
/// # impl Decision for Unique {
/// #     type Command = String; type Event = Claimed; type Error = Taken;
/// #     fn query(name: &String) -> EventQuery { EventQuery::item(QueryItem::tags([tag(name)])) }
/// #     fn apply(&mut self, _: &Claimed) { self.taken = true }
/// #     fn decide(&self, name: &String) -> Result<Vec<Decided<Claimed>>, Taken> {
/// #         if self.taken { return Err(Taken) }
/// #         Ok(vec![Decided::new(StreamId::new("names").unwrap(), Claimed(name.clone()))])
/// #     }
/// #     fn tags(e: &Claimed) -> Vec<Tag> { vec![tag(&e.0)] }
/// # }
/// async fn claim(store: impl EventStore) -> Result<(), ExecuteError<Taken>> {
///     let names = Decider::<Unique, _>::new(store);
///     names.execute("ada".to_string()).await?;
///     let again = names.execute("ada".to_string()).await;
///     assert!(matches!(again, Err(ExecuteError::Domain { .. })));
///     Ok(())
/// }
/// ```
pub struct Decider<D, S, C = Json> {
    store: S,
    codec: C,
    upcasters: Arc<Upcasters>,
    retries: Retries,
    decision: PhantomData<fn() -> D>,
}

impl<D, S: Clone, C: Clone> Clone for Decider<D, S, C> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            codec: self.codec.clone(),
            upcasters: self.upcasters.clone(),
            retries: self.retries,
            decision: PhantomData,
        }
    }
}

impl<D: Decision, S: EventStore> Decider<D, S, Json> {
    /// A decider writing JSON, retrying a command whose facts changed up
    /// to 24 times.
    pub fn new(store: S) -> Self {
        Self {
            store,
            codec: Json,
            upcasters: Arc::new(Upcasters::new()),
            retries: Retries::default(),
            decision: PhantomData,
        }
    }
}

impl<D: Decision, S: EventStore, C: Codec> Decider<D, S, C> {
    /// Writes events with `codec` instead.
    pub fn with_codec<C2: Codec>(self, codec: C2) -> Decider<D, S, C2> {
        Decider {
            store: self.store,
            codec,
            upcasters: self.upcasters,
            retries: self.retries,
            decision: PhantomData,
        }
    }

    /// Runs `upcasters` on every event read before decoding it.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = Arc::new(upcasters);
        self
    }

    /// Decides a command again at most `retries` times after its facts
    /// changed.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.retries.max = retries;
        self
    }

    /// The pauses before retries: up to `first` before the first, doubling
    /// to at most `longest` (random within, for jitter).
    pub fn with_retry_pauses(mut self, first: Duration, longest: Duration) -> Self {
        self.retries.first_pause = first;
        self.retries.longest_pause = longest;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The state `command` would be decided on now.
    pub async fn load(&self, command: &D::Command) -> Result<DecisionState<D>> {
        let read = self.store.read_query(&D::query(command)).await?;
        self.fold(&read)
    }

    /// Reads the command's query, folds, decides and appends the decided
    /// events under the condition that no event matching the query was
    /// stored since the read (atomically, across all their streams);
    /// decides again when one was.
    pub async fn execute(
        &self,
        command: D::Command,
    ) -> Result<DecisionExecuted<D>, ExecuteError<D::Error>> {
        self.execute_with(command, Metadata::default()).await
    }

    /// [`execute`](Self::execute), writing `metadata` (correlation,
    /// causation, actor) on every event.
    pub async fn execute_with(
        &self,
        command: D::Command,
        metadata: Metadata,
    ) -> Result<DecisionExecuted<D>, ExecuteError<D::Error>> {
        let query = D::query(&command);
        let mut backoff = self.retries.backoff();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let read = self.store.read_query(&query).await?;
            let DecisionState {
                mut state,
                position,
            } = self.fold(&read)?;
            let decided = state
                .decide(&command)
                .map_err(|error| ExecuteError::Domain { error, attempts })?;
            if decided.is_empty() {
                return Ok(DecisionExecuted {
                    state,
                    position,
                    events: Vec::new(),
                    appends: Vec::new(),
                    attempts,
                });
            }
            let appends = self.appends(&decided, &metadata)?;
            match self.store.append_if(appends, read.condition()).await {
                Ok(appends) => {
                    let events: Vec<D::Event> = decided.into_iter().map(|d| d.event).collect();
                    events.iter().for_each(|e| state.apply(e));
                    return Ok(DecisionExecuted {
                        state,
                        position,
                        events,
                        appends,
                        attempts,
                    });
                }
                Err(last) if last.is_condition_failed() => {
                    if attempts > self.retries.max {
                        return Err(ExecuteError::RetriesExhausted { attempts, last });
                    }
                    backoff.pause().await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Folds the read's events into a fresh state.
    fn fold(&self, read: &QueryRead) -> Result<DecisionState<D>> {
        let mut state = D::default();
        for recorded in &read.events {
            for event in self.upcasters.decode_all::<D::Event>(recorded)? {
                state.apply(&event);
            }
        }
        Ok(DecisionState {
            state,
            position: read.position,
        })
    }

    /// The decided events encoded with their tags and `metadata`, one
    /// append per stream in the order the streams first come.
    fn appends(
        &self,
        decided: &[Decided<D::Event>],
        metadata: &Metadata,
    ) -> Result<Vec<StreamAppend>> {
        let mut appends: Vec<StreamAppend> = Vec::new();
        for Decided { stream, event } in decided {
            let data = self
                .codec
                .encode(event)?
                .with_metadata(metadata.clone())
                .with_tags(D::tags(event));
            match appends.iter_mut().find(|a| &a.stream_id == stream) {
                Some(append) => append.events.push(data),
                None => appends.push(StreamAppend::new(
                    stream.clone(),
                    ExpectedVersion::Any,
                    vec![data],
                )),
            }
        }
        Ok(appends)
    }
}
