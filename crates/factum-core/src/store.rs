//! The store contract, split by role: [`EventAppender`], [`EventReader`],
//! [`SnapshotStore`], [`CheckpointStore`], all together [`EventStore`].

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use crate::{
    AppendCondition, AppendResult, Error, EventData, EventFilter, EventQuery, ExpectedVersion,
    FeedPage, FeedSignal, GlobalPosition, ParkedEvent, QueryRead, ReadOptions, RecordedEvent,
    RecordedPayload, Result, Snapshot, SnapshotRead, StreamAppend, StreamId, StreamVersions,
    StreamsView, TimeRange,
};

/// Writes events.
#[async_trait]
pub trait EventAppender: Send + Sync {
    /// Appends to several streams in one atomic step: every event of every
    /// stream is written, or none is. Each stream's expected version is
    /// checked; one conflict fails the whole call with
    /// [`Error::VersionConflict`]. Results come in the order given.
    ///
    /// Events whose idempotency key is already stored are not written again
    /// and are reported as [`EventOutcome::Duplicate`](crate::EventOutcome).
    /// When every event of a stream is such a duplicate, that stream's
    /// expected version is not checked, so a retried append succeeds.
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>>;

    /// [`append_many`](Self::append_many) under a condition checked
    /// atomically with the write: when an event matching
    /// `condition.query` was stored after `condition.after`, the call fails
    /// with [`Error::ConditionFailed`] naming the first such event, and
    /// writes nothing. Expected versions and idempotency keys work as in
    /// `append_many` (a retried call whose events are all stored already
    /// succeeds as duplicates, without checking the condition).
    ///
    /// Read the decision's facts with
    /// [`EventReader::read_query`] and pass its
    /// [`condition`](crate::QueryRead::condition): the events written are
    /// then exactly the decision made on those facts, even with other
    /// deciders racing. Only deciders and writers whose events match each
    /// other's queries wait for one another; readers and other writers
    /// never wait for a decision.
    ///
    /// ```
    /// use factum_core::{
    ///     AppendCondition, EventAppender, EventData, EventQuery, EventReader, ExpectedVersion,
    ///     QueryItem, StreamAppend, StreamId, Tag,
    /// };
    ///
    /// /// Claims a user name: written only if no one claimed it before.
    /// async fn claim<S: EventAppender + EventReader>(store: &S, name: &str, user: &str) -> factum_core::Result<bool> {
    ///     let tag = Tag::new(format!("username:{name}")).expect("valid tag");
    ///     let claimed = EventQuery::item(QueryItem::types(["NameClaimed"]).with_tag(tag.clone()));
    ///     let read = store.read_query(&claimed).await?;
    ///     if !read.events.is_empty() {
    ///         return Ok(false);
    ///     }
    ///     let event = EventData::json("NameClaimed", b"{}".to_vec()).with_tag(tag);
    ///     let append = StreamAppend::new(StreamId::new(format!("user-{user}"))?, ExpectedVersion::Any, vec![event]);
    ///     match store.append_if(vec![append], read.condition()).await {
    ///         Ok(_) => Ok(true),
    ///         Err(e) if e.is_condition_failed() => Ok(false),
    ///         Err(e) => Err(e),
    ///     }
    /// }
    /// ```
    async fn append_if(
        &self,
        appends: Vec<StreamAppend>,
        condition: AppendCondition,
    ) -> Result<Vec<AppendResult>>;

    /// Appends events to one stream whose current version must match
    /// `expected`.
    ///
    /// ```
    /// use factum_core::{EventAppender, EventData, ExpectedVersion, StreamId};
    ///
    /// async fn open_account(store: &dyn EventAppender) -> factum_core::Result<()> {
    ///     let stream = StreamId::new("account-1")?;
    ///     let opened = vec![EventData::json("Opened", b"{}".to_vec())];
    ///     let result = store.append(&stream, ExpectedVersion::NoStream, opened).await?;
    ///     assert_eq!(result.current_version, Some(1));
    ///     Ok(())
    /// }
    /// ```
    ///
    /// The `factum` crate's documentation runs this against a real store.
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<EventData>,
    ) -> Result<AppendResult> {
        let append = StreamAppend::new(stream.clone(), expected, events);
        self.append_many(vec![append]).await?.pop().ok_or_else(|| {
            Error::backend(
                "core",
                format!("appending to stream {stream}"),
                "the backend returned no result for the stream",
            )
        })
    }
}

/// Reads streams and the global feed.
#[async_trait]
pub trait EventReader: Send + Sync {
    /// Reads a stream lazily, page by page, so that a long stream is never
    /// held in memory whole. A stream that does not exist yields nothing.
    fn read_stream_events<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedEvent>>;

    /// Reads what folding needs of a stream's events ([`RecordedPayload`]):
    /// the events [`read_stream_events`](Self::read_stream_events) reads
    /// with the same options, lazily too. The SQL backends fetch only those
    /// columns, which makes loading an aggregate markedly cheaper; the
    /// default maps the whole events.
    fn read_stream_payloads<'a>(
        &'a self,
        stream: &'a StreamId,
        options: ReadOptions,
    ) -> BoxStream<'a, Result<RecordedPayload>> {
        self.read_stream_events(stream, options)
            .map_ok(RecordedPayload::from)
            .boxed()
    }

    /// Reads a stream into a `Vec`. A stream that does not exist gives an
    /// empty `Vec`.
    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadOptions,
    ) -> Result<Vec<RecordedEvent>> {
        self.read_stream_events(stream, options).try_collect().await
    }

    /// Reads at most `limit` events of the global feed that lie after
    /// `after` ([`GlobalPosition::START`] for the beginning), in position
    /// order. The feed is final: a later call never returns an event ordered
    /// before one already returned.
    async fn read_all(&self, after: GlobalPosition, limit: usize) -> Result<Vec<RecordedEvent>>;

    /// Reads at most `limit` events of the global feed after `after` that
    /// `filter` lets through, in position order, and how far the read
    /// looked ([`FeedPage::scanned_to`]): read on after that, not after the
    /// last event, so that a sparse filter still moves the reader forward.
    /// The SQL backends evaluate the filter in the database, on its
    /// indexes; the default reads the feed with
    /// [`read_all`](Self::read_all) and filters it here.
    async fn read_feed(
        &self,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        crate::feed::scan(self, after, limit, filter).await
    }

    /// Reads at most `limit` events of the global feed that lie after
    /// `after` and were recorded within `range` (its ends included or
    /// excluded as built, see [`TimeRange`]), in position order. Page
    /// through a range by passing the last returned event's position as
    /// `after`; a page shorter than `limit` means the read reached the
    /// feed's head. Like [`read_all`](Self::read_all) it returns only final
    /// events, so paging on never skips one.
    ///
    /// Positions and recorded times agree within a stream (a later version
    /// never carries an earlier time), not across streams on PostgreSQL,
    /// whose positions follow transaction ids: a range is therefore a filter
    /// on the feed, not a slice of it. An event's time is taken when its
    /// append writes it, under the stream's lock, and the event is read from
    /// its commit on: once `range` has ended (by the store's clock) and the
    /// appends running then have committed, no event recorded in it can
    /// appear any more.
    ///
    /// The default pages [`read_all`](Self::read_all) and keeps the events
    /// in range; the SQL backends ask their index on the recorded time.
    async fn read_all_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        crate::time_range::read_all_between(self, range, after, limit).await
    }

    /// [`read_feed`](Self::read_feed) kept to the events recorded within
    /// `range`: at most `limit` events after `after` that `filter` lets
    /// through and that were recorded in `range`, in position order, and
    /// how far the read looked ([`FeedPage::scanned_to`]; read on after
    /// that). The default reads one page through the filter and keeps the
    /// events in range, so the backend's filter does the scanning; for an
    /// unfiltered range read on the time index, see
    /// [`read_all_between`](Self::read_all_between).
    async fn read_feed_between(
        &self,
        range: TimeRange,
        after: GlobalPosition,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<FeedPage> {
        crate::time_range::read_feed_between(self, range, after, limit, filter).await
    }

    /// Reads the events matching `query`, in any stream, in feed order, and
    /// the position the read is complete at ([`QueryRead`]): what a
    /// decision across streams is made on, to be written with
    /// [`EventAppender::append_if`] and the read's
    /// [`condition`](QueryRead::condition).
    ///
    /// The default reads each item of the query through
    /// [`read_feed`](Self::read_feed), whose filters the SQL backends
    /// evaluate on their indexes, and keeps what all items' reads have
    /// covered.
    async fn read_query(&self, query: &EventQuery) -> Result<QueryRead> {
        crate::query::read_query(self, query).await
    }

    /// The stream's current version, `None` when it does not exist.
    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>>;

    /// The position of the newest event a feed reader may see now, `None` when
    /// there is none.
    async fn head_position(&self) -> Result<Option<GlobalPosition>>;

    /// The feed's head and the version each of `streams` had there, in the
    /// order given, all as of that one point (`None` for a stream with no
    /// event at or before it). What [`read_streams`](Self::read_streams)
    /// reads first. The SQL backends answer in one statement after the
    /// head; the default reads the head, then each stream newest first down
    /// to its first event at or before it.
    async fn stream_versions(&self, streams: &[StreamId]) -> Result<StreamVersions> {
        crate::streams_view::versions_at_head(self, streams).await
    }

    /// Reads several streams as of one point of the global feed, its head
    /// when the call starts: each stream with its version there and its
    /// events up to that version, read lazily, page by page, when polled.
    /// No event of one stream is newer than the view of another: an atomic
    /// append to several of them is wholly in the view or wholly out of it,
    /// whatever is appended while the events are read. A stream that does
    /// not exist comes back with version `None` and no events. No
    /// transaction is held open between pages.
    ///
    /// ```
    /// use factum_core::{EventReader, StreamId};
    /// use futures::TryStreamExt;
    ///
    /// async fn transfer_view(store: &dyn EventReader) -> factum_core::Result<()> {
    ///     let accounts = [StreamId::new("account-1")?, StreamId::new("account-2")?];
    ///     let view = store.read_streams(&accounts).await?;
    ///     let as_of = view.position();
    ///     for account in view {
    ///         let version = account.version();
    ///         let events: Vec<_> = account.into_events().try_collect().await?;
    ///         assert_eq!(events.len() as u64, version.unwrap_or(0));
    ///         assert!(events.iter().all(|e| Some(e.position) <= as_of));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    async fn read_streams<'a>(&'a self, streams: &'a [StreamId]) -> Result<StreamsView<'a>> {
        let at = self.stream_versions(streams).await?;
        crate::streams_view::assemble(self, streams, at)
    }

    /// A signal that fires when new events may have been committed, for
    /// subscriptions to wake early; `None` (the default) when the backend has
    /// none, and subscribers only poll.
    fn feed_signal(&self) -> Option<FeedSignal> {
        None
    }
}

/// Keeps the newest snapshot of each stream.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Saves a snapshot unless the stream has one of a higher version.
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()>;

    /// The stream's newest snapshot, if any.
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>>;

    /// What loading an aggregate starts with, in one round trip on the SQL
    /// backends: the stream's snapshot when it has `schema_version` and lies
    /// at or before `until` (any version when `None`), and at most `limit`
    /// payloads of the events after it (from version 1 without one) up to
    /// `until`. Read more after the last payload when `limit` came back.
    ///
    /// `None` when the backend has no such read (the default): the caller
    /// reads the snapshot and the events apart.
    async fn load_snapshot_with_payloads(
        &self,
        stream: &StreamId,
        schema_version: u32,
        until: Option<u64>,
        limit: usize,
    ) -> Result<Option<SnapshotRead>> {
        let _ = (stream, schema_version, until, limit);
        Ok(None)
    }
}

/// Keeps each projection's checkpoint (the last global position it
/// handled) and the events it [parked](crate::FailurePolicy::Park).
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The checkpoint saved under `name`, if any.
    async fn load_checkpoint(&self, name: &str) -> Result<Option<GlobalPosition>>;

    /// Saves `position` as the checkpoint of `name`.
    async fn save_checkpoint(&self, name: &str, position: GlobalPosition) -> Result<()>;

    /// Forgets the checkpoint of `name`, so the projection starts over.
    async fn delete_checkpoint(&self, name: &str) -> Result<()>;

    /// Stores `parked` under its projection's name, replacing what was
    /// parked there for the same position (a replay that failed again).
    async fn park_event(&self, parked: &ParkedEvent) -> Result<()>;

    /// The events parked under `name`, by position, oldest first.
    async fn parked_events(&self, name: &str) -> Result<Vec<ParkedEvent>>;

    /// Forgets the event at `position` as parked under `name`; false when
    /// none was parked there.
    async fn unpark_event(&self, name: &str, position: GlobalPosition) -> Result<bool>;
}

/// A whole event store: appending, reading, snapshots and checkpoints.
/// Object safe: use it as `Arc<dyn EventStore>`.
pub trait EventStore: EventAppender + EventReader + SnapshotStore + CheckpointStore {}

impl<T: EventAppender + EventReader + SnapshotStore + CheckpointStore + ?Sized> EventStore for T {}
