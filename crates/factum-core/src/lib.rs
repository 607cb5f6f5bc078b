//! Core of factum: the types, traits, codecs and errors every backend and
//! every user of the event store share.
//!
//! Most users depend on the `factum` crate, which re-exports all of this.

pub mod aggregate;
mod append;
pub mod backend;
mod category;
mod codec;
mod correlation;
mod error;
mod event;
mod feed;
mod inject;
mod invalid;
mod lease;
mod metadata;
mod position;
mod projection;
mod query;
mod read;
mod shared;
mod signal;
mod snapshot;
mod store;
mod stream_id;
mod streams_view;
mod subscription;
mod tag;
pub mod testing;
mod time_range;
mod traced;
mod upcast;
mod version;
mod wait;

pub use append::{AppendResult, Duplicates, EventOutcome, StreamAppend};
pub use category::CategoryUser;
#[cfg(feature = "msgpack")]
pub use codec::MessagePack;
pub use codec::{BoxError, Codec, DomainEvent, Json, PayloadShape, SchemaTooNew};
pub use correlation::CorrelationStatus;
pub use error::{Error, Result};
pub use event::{EventData, PayloadFormat, RecordedEvent, RecordedPayload};
pub use feed::FeedPage;
pub use inject::{
    AwaitResponse, CausedBy, CorrelatedSet, EventOrRef, InjectAndWait, InjectEvents, InjectStatus,
    InjectableEvent,
};
pub use invalid::{
    InvalidAppend, MAX_EVENT_TYPE_BYTES, MAX_EVENTS_PER_APPEND, MAX_IDEMPOTENCY_KEY_BYTES,
};
pub use lease::{LeaseTerm, WorkerLease};
pub use metadata::Metadata;
pub use position::{GlobalPosition, ParsePositionError};
pub use projection::{
    FailurePolicy, Lag, ParkedEvent, ParkedReplay, Projection, ProjectionError, ProjectionRunner,
    ResetNotWritten, RetryPolicy, TransactionalProjection,
};
pub use query::{AppendCondition, EventQuery, QueryItem, QueryRead};
pub use read::{Direction, ReadOptions};
pub use signal::{FeedNotifier, FeedSignal};
pub use snapshot::{Snapshot, SnapshotRead};
pub use store::{CheckpointStore, EventAppender, EventReader, EventStore, SnapshotStore};
pub use stream_id::{MAX_STREAM_ID_BYTES, StreamId, StreamIdError};
pub use streams_view::{StreamVersions, StreamView, StreamsView};
pub use subscription::{EventFilter, FeedCursor, Subscribe, SubscriptionOptions};
pub use tag::{MAX_TAG_BYTES, MAX_TAGS_PER_EVENT, Tag, TagError};
pub use time_range::TimeRange;
pub use traced::TracingStore;
pub use upcast::{Upcasted, Upcasters};
pub use version::ExpectedVersion;
pub use wait::{FeedWait, WaitForFeed};
