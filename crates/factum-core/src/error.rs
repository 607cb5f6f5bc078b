//! [`Error`]: everything that can go wrong, each case naming what was wrong.

use crate::{
    CategoryUser, CorrelationStatus, ExpectedVersion, GlobalPosition, InvalidAppend, StreamId,
    StreamIdError,
};

/// The error type of every factum operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream's current version did not match what the writer expected.
    /// Nothing was written.
    #[error("version conflict on stream {stream}: expected {expected}, but the stream {}", display_actual(*.actual))]
    VersionConflict {
        /// The stream.
        stream: StreamId,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The stream's actual version (`None`: the stream does not exist).
        actual: Option<u64>,
    },
    /// An append call mixed events stored already (by idempotency key) with
    /// new ones, which by default means a key was reused by mistake (see
    /// [`Duplicates`](crate::Duplicates)). Nothing was written.
    #[error(
        "the append mixes events stored already (keys {}) with new events (in {}): nothing was written; a key reused by mistake? (StreamAppend::skipping_duplicates allows it)",
        display_keys(.duplicate_keys),
        display_streams(.new_in)
    )]
    MixedDuplicates {
        /// The keys of the events stored already.
        duplicate_keys: Vec<String>,
        /// The streams that would have got new events.
        new_in: Vec<StreamId>,
    },
    /// An append's [`AppendCondition`](crate::AppendCondition) did not
    /// hold: an event matching its query was stored after the position the
    /// decision was read at. The fields name the first such event. Nothing
    /// was written; read the query again and decide anew.
    #[error(
        "append condition failed: event {event_type:?} of stream {stream} (version {stream_version}, position {position}) matches the condition's query and was stored after position {after}: nothing was written"
    )]
    ConditionFailed {
        /// The position the decision was read at.
        after: GlobalPosition,
        /// The first matching event stored after it.
        position: GlobalPosition,
        /// That event's stream.
        stream: StreamId,
        /// That event's version in its stream.
        stream_version: u64,
        /// That event's type.
        event_type: String,
    },
    /// A stream id was invalid. Its text is the [`StreamIdError`]'s, which
    /// names the id.
    #[error(transparent)]
    InvalidStreamId(#[from] StreamIdError),
    /// An append was refused before anything was written.
    #[error("invalid append: {0}")]
    InvalidAppend(#[from] InvalidAppend),
    /// An event could not be encoded, or an upcaster failed. (A stored
    /// event that does not decode is an [`Error::Decode`].)
    #[error("cannot {action} event {event_type:?}: {source}")]
    Codec {
        /// `"encode"` or `"upcast"`.
        action: &'static str,
        /// The event type involved.
        event_type: String,
        /// The codec's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored event's type is not one the reader knows.
    #[error(
        "unknown event type {event_type:?} (schema version {schema_version}); known types: {known}"
    )]
    UnknownEventType {
        /// The stored type name.
        event_type: String,
        /// Its stored schema version.
        schema_version: u32,
        /// The types the reader knows, comma-separated.
        known: String,
    },
    /// A correlation group was not in the state an injected event requires.
    /// Nothing was written.
    #[error("correlation group {group} {expected}, but it {}", display_group(*.events))]
    CorrelationStatus {
        /// The group (its stream).
        group: StreamId,
        /// The status the event requires.
        expected: CorrelationStatus,
        /// How many events the group holds (`None`: it does not exist).
        events: Option<u64>,
    },
    /// An aggregate and a correlation set both claim a stream: the
    /// aggregate's `CATEGORY` is also the set's `PREFIX`, so that their
    /// two kinds of event would share streams. The one that found the
    /// other's event there is refused; nothing was written. Give one of
    /// them another name.
    #[error("{}", display_shared(.stream, .refused, .found))]
    CategoryShared {
        /// The stream both claim.
        stream: StreamId,
        /// Who was refused it: an aggregate, which found an event injected
        /// into a correlation group there, or a correlation set, which
        /// found an aggregate's event.
        refused: CategoryUser,
        /// The type of the other's event found in the stream.
        found: String,
    },
    /// A wait ended before what it waited for happened.
    #[error("timed out after {timeout:?} waiting for {waiting_for}")]
    Timeout {
        /// What was awaited.
        waiting_for: String,
        /// How long it waited.
        timeout: std::time::Duration,
    },
    /// A store URL could not be opened: unknown scheme, or a backend that was
    /// not compiled in.
    #[error("cannot open {url}: {reason}")]
    UnsupportedUrl {
        /// The URL, without any password.
        url: String,
        /// Why.
        reason: String,
    },
    /// The backend failed for a reason that retrying the same call cannot
    /// be expected to fix: a database error, a broken invariant. (A lost
    /// connection, and a fault injected into a memory store, is
    /// [`Error::Unavailable`].)
    #[error("{backend} backend failed while {operation}: {source}")]
    Backend {
        /// Which backend (`"memory"`, `"postgres"`, `"sqlite"`).
        backend: &'static str,
        /// What it was doing, e.g. `"appending to stream account-1"`.
        operation: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The backend could not be reached, or went away: the connection was
    /// lost, the server is restarting or shutting down, it refuses new
    /// connections, or none could be had in time. Retrying later can
    /// succeed, and the store's runners do so by themselves.
    ///
    /// An append that fails this way may or may not have been written (the
    /// connection can drop after the commit, before its answer): retry it
    /// with idempotency keys or an exact [`ExpectedVersion`], which make a
    /// retry of a stored append harmless.
    #[error("{backend} backend unavailable while {operation}: {source}")]
    Unavailable {
        /// Which backend (`"postgres"`, `"sqlite"`; `"memory"` for a fault
        /// its `Faults` injected).
        backend: &'static str,
        /// What it was doing, e.g. `"appending to stream account-1"`.
        operation: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored event could not be read back: its row holds what factum
    /// never writes (metadata that is not a JSON object of the right
    /// fields, an unknown payload format, no payload or two, a negative
    /// version...), so it was altered behind factum's back. Retrying cannot
    /// help; the fields locate the row as far as it could be read.
    #[error("corrupt stored event in the {backend} store{}: {source}", display_location(*.position, .stream.as_deref(), *.stream_version))]
    CorruptEvent {
        /// Which backend (`"postgres"`, `"sqlite"`).
        backend: &'static str,
        /// The event's global position (`None`: unreadable, or not read, as
        /// in a stream read of payloads).
        position: Option<GlobalPosition>,
        /// Its stream id as stored (`None`: unreadable).
        stream: Option<String>,
        /// Its stream version (`None`: unreadable or out of range).
        stream_version: Option<u64>,
        /// What was wrong with the row.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored event of a known type could not be decoded as the type
    /// asked for: its payload does not fit (a missing field, a wrong
    /// type). The fields locate the event as far as the read gave them.
    #[error("cannot decode event {event_type:?} (schema version {schema_version}){}: {source}", display_location(*.position, .stream.as_ref().map(StreamId::as_str), *.stream_version))]
    Decode {
        /// The stored event type (after upcasting, if an upcaster ran).
        event_type: String,
        /// Its schema version (after upcasting, if an upcaster ran).
        schema_version: u32,
        /// Its stream (`None`: a read of payloads alone, which has none).
        stream: Option<StreamId>,
        /// Its version in the stream.
        stream_version: Option<u64>,
        /// Its global position (`None`: a read of payloads alone).
        position: Option<GlobalPosition>,
        /// The codec's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn display_location(
    position: Option<GlobalPosition>,
    stream: Option<&str>,
    version: Option<u64>,
) -> String {
    let mut parts = Vec::new();
    if let Some(position) = position {
        parts.push(format!("position {position}"));
    }
    match (stream, version) {
        (Some(stream), Some(version)) => parts.push(format!("event {stream}@{version}")),
        (Some(stream), None) => parts.push(format!("stream {stream}")),
        (None, Some(version)) => parts.push(format!("stream version {version}")),
        _ => {}
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" at {}", parts.join(", "))
    }
}

fn display_group(events: Option<u64>) -> String {
    match events {
        None => "does not exist".to_owned(),
        Some(1) => "exists with 1 event".to_owned(),
        Some(n) => format!("exists with {n} events"),
    }
}

fn display_shared(stream: &StreamId, refused: &CategoryUser, found: &str) -> String {
    let category = stream.category();
    match refused {
        CategoryUser::Aggregate(aggregate) => format!(
            "aggregate {aggregate} cannot use stream {stream}: it is a correlation group \
             (event {found:?} was injected there), because the category {category:?} is both \
             the aggregate's CATEGORY and a correlation set's PREFIX; give one of them another \
             name (nothing was written)"
        ),
        CategoryUser::CorrelationSet(set) => format!(
            "correlation set {set} cannot inject into stream {stream}: it holds an aggregate's \
             events (the first is {found:?}), because the category {category:?} is both the \
             set's PREFIX and an aggregate's CATEGORY; give one of them another name (nothing \
             was written)"
        ),
    }
}

fn display_keys(keys: &[String]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    quoted.join(", ")
}

fn display_streams(streams: &[StreamId]) -> String {
    let names: Vec<&str> = streams.iter().map(StreamId::as_str).collect();
    names.join(", ")
}

fn display_actual(version: Option<u64>) -> String {
    version.map_or_else(
        || "does not exist".to_owned(),
        |v| format!("is at version {v}"),
    )
}

impl Error {
    /// This error, with `stream` filled in where a [`Decode`](Self::Decode)
    /// error of a payload read (which has no stream) lacks it.
    pub(crate) fn in_stream(self, stream: &StreamId) -> Self {
        self.located(Some(stream), None)
    }

    /// This error, with the stream and position of `event` filled in where
    /// a [`Decode`](Self::Decode) error lacks them.
    pub(crate) fn at_event(self, event: &crate::RecordedEvent) -> Self {
        self.located(Some(&event.stream_id), Some(event.position))
    }

    fn located(self, at_stream: Option<&StreamId>, at_position: Option<GlobalPosition>) -> Self {
        match self {
            Self::Decode {
                event_type,
                schema_version,
                stream,
                stream_version,
                position,
                source,
            } => Self::Decode {
                event_type,
                schema_version,
                stream: stream.or_else(|| at_stream.cloned()),
                stream_version,
                position: position.or(at_position),
                source,
            },
            other => other,
        }
    }

    /// A [`Error::Backend`]: `backend` failed while doing `operation` (see
    /// [`describe_appends`](crate::backend::describe_appends)).
    pub fn backend(
        backend: &'static str,
        operation: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            backend,
            operation: operation.into(),
            source: source.into(),
        }
    }

    /// An [`Error::Unavailable`]: `backend` could not be reached while doing
    /// `operation`.
    pub fn unavailable(
        backend: &'static str,
        operation: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            backend,
            operation: operation.into(),
            source: source.into(),
        }
    }

    /// Whether retrying the same operation later can succeed without any
    /// change: the backend was [unavailable](Error::Unavailable). Runners
    /// and relays retry such errors; every other error is for the caller.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// Whether this is a [`Error::VersionConflict`]: the caller may reload and
    /// retry.
    pub fn is_version_conflict(&self) -> bool {
        matches!(self, Self::VersionConflict { .. })
    }

    /// Whether this is an [`Error::ConditionFailed`]: the facts a decision
    /// was made on changed; the caller may read again and decide anew.
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, Self::ConditionFailed { .. })
    }
}

/// Shorthand for `Result<T, factum_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(expected: ExpectedVersion, actual: Option<u64>) -> String {
        Error::VersionConflict {
            stream: StreamId::new("cart-1").unwrap(),
            expected,
            actual,
        }
        .to_string()
    }

    #[test]
    fn conflicts_read_as_sentences_whether_or_not_the_stream_exists() {
        assert_eq!(
            conflict(ExpectedVersion::Exact(3), Some(5)),
            "version conflict on stream cart-1: expected version 3, but the stream is at version 5"
        );
        assert_eq!(
            conflict(ExpectedVersion::NoStream, Some(2)),
            "version conflict on stream cart-1: expected no stream, but the stream is at version 2"
        );
        assert_eq!(
            conflict(ExpectedVersion::StreamExists, None),
            "version conflict on stream cart-1: expected an existing stream, but the stream does not exist"
        );
        assert_eq!(
            conflict(ExpectedVersion::Exact(3), None),
            "version conflict on stream cart-1: expected version 3, but the stream does not exist"
        );
    }

    #[test]
    fn correlation_status_counts_events_in_good_grammar() {
        let status = |expected, events| {
            Error::CorrelationStatus {
                group: StreamId::new("Transfer-1").unwrap(),
                expected,
                events,
            }
            .to_string()
        };
        assert_eq!(
            status(CorrelationStatus::New, Some(1)),
            "correlation group Transfer-1 must not exist yet, but it exists with 1 event"
        );
        assert_eq!(
            status(CorrelationStatus::New, Some(2)),
            "correlation group Transfer-1 must not exist yet, but it exists with 2 events"
        );
        assert_eq!(
            status(CorrelationStatus::Exists, None),
            "correlation group Transfer-1 must exist, but it does not exist"
        );
    }

    #[test]
    fn a_shared_category_names_the_stream_the_refused_and_the_found() {
        let stream = StreamId::new("order-7").unwrap();
        let aggregate = Error::CategoryShared {
            stream: stream.clone(),
            refused: CategoryUser::Aggregate("shop::Order"),
            found: "PaymentRequested".to_owned(),
        };
        assert_eq!(
            aggregate.to_string(),
            "aggregate shop::Order cannot use stream order-7: it is a correlation group \
             (event \"PaymentRequested\" was injected there), because the category \"order\" is \
             both the aggregate's CATEGORY and a correlation set's PREFIX; give one of them \
             another name (nothing was written)"
        );
        let set = Error::CategoryShared {
            stream,
            refused: CategoryUser::CorrelationSet("shop::Payments"),
            found: "OrderPlaced".to_owned(),
        };
        assert_eq!(
            set.to_string(),
            "correlation set shop::Payments cannot inject into stream order-7: it holds an \
             aggregate's events (the first is \"OrderPlaced\"), because the category \"order\" is \
             both the set's PREFIX and an aggregate's CATEGORY; give one of them another name \
             (nothing was written)"
        );
    }

    #[test]
    fn an_invalid_stream_id_is_named_once() {
        let empty = Error::from(StreamId::new("").unwrap_err());
        assert_eq!(empty.to_string(), "stream id is empty");
        let control = Error::from(StreamId::new("a\u{1}b").unwrap_err());
        assert_eq!(
            control.to_string(),
            "stream id \"a\\u{1}b\" holds the control character '\\u{1}' at byte 1"
        );
    }
}
