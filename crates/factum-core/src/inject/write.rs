//! Writing one injection: the event encoded for its group ([`Prepared`]),
//! then appended after the group's status check ([`Written`]).

use super::{EventOrRef, InjectStatus, InjectableEvent};
use crate::category::{CategoryUser, CorrelationPrefix};
use crate::correlation::CorrelationStatus;
use crate::{
    Codec, Error, EventData, EventOutcome, EventStore, Json, Metadata, ReadOptions, RecordedEvent,
    Result, StreamId,
};

/// An injection encoded and ready to write: the event no longer needs to
/// be borrowed.
#[derive(Debug)]
pub(super) struct Prepared {
    /// The correlation group.
    pub(super) group: StreamId,
    /// The event, with its key, correlation id and (when given) causation
    /// id.
    data: EventData,
    /// What the group must look like.
    status: CorrelationStatus,
    /// The correlation set, for errors.
    set: CategoryUser,
}

/// What a written injection did: its status, its group and its version
/// there.
#[derive(Debug)]
pub(super) struct Written {
    pub(super) status: InjectStatus,
    pub(super) group: StreamId,
    pub(super) version: u64,
}

impl Prepared {
    /// Encodes `event` (JSON, with its key, its correlation id and its
    /// cause's id, if any, in the metadata) for its group.
    pub(super) fn of<E: InjectableEvent>(event: &impl EventOrRef<E>) -> Result<Self> {
        let _checked = CorrelationPrefix::<E::Set>::CHECKED;
        let causation_id = event.causation_id();
        let event = event.event();
        let correlation_id = event.correlation_id();
        let group = StreamId::new(&correlation_id)?;
        let mut metadata = Metadata::default().with_correlation_id(correlation_id);
        metadata.causation_id = causation_id.map(|id| id.to_string());
        let data = Json
            .encode(event)?
            .with_idempotency_key(event.idempotency_key())
            .with_metadata(metadata);
        Ok(Self {
            group,
            data,
            status: E::STATUS,
            set: CategoryUser::correlation_set::<E::Set>(),
        })
    }

    /// Appends the event to its group, checking the group's status, and
    /// that the stream is a group, not an aggregate's.
    pub(super) async fn write<S: EventStore + ?Sized>(self, store: &S) -> Result<Written> {
        let Self {
            group,
            mut data,
            status,
            set,
        } = self;
        if status != CorrelationStatus::New {
            // Joining a group that may exist: its first event tells whose
            // stream it is, and is the request a response answers.
            if let Some(opener) = first_event(store, &group).await? {
                if let Some(shared) = set.refused_by(&opener) {
                    return Err(shared);
                }
                data.metadata
                    .causation_id
                    .get_or_insert_with(|| opener.event_id.to_string());
            }
        }
        let result = match store
            .append(&group, status.expected_version(), vec![data])
            .await
        {
            Err(Error::VersionConflict { stream, actual, .. }) => {
                // `new` met a stream: a group already, or an aggregate's.
                if actual.is_some()
                    && let Some(first) = first_event(store, &stream).await?
                    && let Some(shared) = set.refused_by(&first)
                {
                    return Err(shared);
                }
                return Err(Error::CorrelationStatus {
                    group: stream,
                    expected: status,
                    events: actual,
                });
            }
            other => other?,
        };
        match result.events.into_iter().next() {
            Some(EventOutcome::Written {
                position,
                stream_version,
            }) => Ok(Written {
                status: InjectStatus::Injected { position },
                group,
                version: stream_version,
            }),
            Some(EventOutcome::Duplicate {
                position,
                stream_version,
                stream_id,
            }) => Ok(Written {
                status: InjectStatus::Duplicate { position },
                group: stream_id,
                version: stream_version,
            }),
            None => Err(Error::backend(
                "core",
                format!("injecting into correlation group {group}"),
                "the backend reported no outcome for the event",
            )),
        }
    }
}

/// The first event of `stream`, if it has one.
async fn first_event<S: EventStore + ?Sized>(
    store: &S,
    stream: &StreamId,
) -> Result<Option<RecordedEvent>> {
    let mut first = store
        .read_stream(stream, ReadOptions::all().with_limit(1))
        .await?;
    Ok(first.pop())
}
