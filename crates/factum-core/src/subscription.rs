//! Subscriptions: the global feed from a position, catch-up then live, as a
//! `futures::Stream`, optionally filtered.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};

use crate::{EventReader, FeedSignal, GlobalPosition, RecordedEvent, Result, Tag, Upcasters};

/// Which events a subscriber wants: by stream category, by event type, by
/// the tags they carry, or all. Several set means an event must match each.
///
/// ```
/// use factum_core::EventFilter;
///
/// let filter = EventFilter::all().categories(["account"]).event_types(["Deposited"]);
/// assert!(!filter.is_all());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    categories: Option<Vec<String>>,
    event_types: Option<Vec<String>>,
    tags: Option<Vec<Tag>>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only events of streams in these categories (`"account"` for
    /// `"account-42"`): streams whose id is the category, or starts with
    /// it and a `-`. So a name that holds a `-` itself still finds its streams
    /// (`"sales-order"` matches `"sales-order-7"`, whose
    /// [`StreamId::category`](crate::StreamId::category) is `"sales"`),
    /// rather than silently matching nothing.
    ///
    /// ```
    /// use factum_core::{EventData, EventFilter, GlobalPosition, RecordedEvent, StreamId};
    ///
    /// let event = |stream: &str| {
    ///     let data = EventData::json("Placed", b"{}".to_vec());
    ///     RecordedEvent::from_data(data, StreamId::new(stream).unwrap(), 1, GlobalPosition::from_parts(0, 1), chrono::Utc::now())
    /// };
    /// let orders = EventFilter::all().categories(["sales-order"]);
    /// assert!(orders.matches(&event("sales-order-7")));
    /// assert!(!orders.matches(&event("sales-7")));
    /// assert!(!orders.matches(&event("sales-orderly-7")));
    /// assert!(EventFilter::all().categories(["sales"]).matches(&event("sales-order-7")));
    /// assert!(EventFilter::all().categories(["sales"]).matches(&event("sales")));
    /// ```
    pub fn categories<I: IntoIterator<Item = T>, T: Into<String>>(mut self, categories: I) -> Self {
        self.categories = Some(categories.into_iter().map(Into::into).collect());
        self
    }

    /// Only events of these types.
    pub fn event_types<I: IntoIterator<Item = T>, T: Into<String>>(mut self, types: I) -> Self {
        self.event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Only events that carry every one of these [`Tag`]s (and maybe
    /// others). No tag at all lets every event through.
    pub fn tags<I: IntoIterator<Item = Tag>>(mut self, tags: I) -> Self {
        let mut all = Vec::new();
        crate::tag::add_tags(&mut all, tags);
        self.tags = (!all.is_empty()).then_some(all);
        self
    }

    /// The tags an event must carry, all of them; `None`: none needed.
    pub fn tag_names(&self) -> Option<&[Tag]> {
        self.tags.as_deref()
    }

    /// The event types it lets through; `None`: any.
    pub fn event_type_names(&self) -> Option<&[String]> {
        self.event_types.as_deref()
    }

    /// The categories it lets through; `None`: any.
    pub fn category_names(&self) -> Option<&[String]> {
        self.categories.as_deref()
    }

    /// Whether the filter lets everything through.
    pub fn is_all(&self) -> bool {
        self.categories.is_none() && self.event_types.is_none() && self.tags.is_none()
    }

    /// Whether `event` passes.
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        let stream = event.stream_id.as_str();
        self.categories.as_ref().is_none_or(|c| {
            c.iter().any(|c| {
                stream
                    .strip_prefix(c.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
            })
        }) && self
            .event_types
            .as_ref()
            .is_none_or(|t| t.contains(&event.event_type))
            && self
                .tags
                .as_ref()
                .is_none_or(|tags| tags.iter().all(|t| event.tags.contains(t)))
    }
}

/// Where a subscription starts and how it reads: set with `with_*`, read
/// with the option's bare name. The batch size is at least 1, however it is
/// set.
#[derive(Debug, Clone)]
pub struct SubscriptionOptions {
    after: GlobalPosition,
    filter: EventFilter,
    upcasters: Upcasters,
    batch_size: usize,
    poll_interval: Duration,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self {
            after: GlobalPosition::START,
            filter: EventFilter::all(),
            upcasters: Upcasters::new(),
            batch_size: 500,
            poll_interval: Duration::from_millis(250),
        }
    }
}

impl SubscriptionOptions {
    /// From the first event.
    pub fn from_start() -> Self {
        Self::default()
    }

    /// Delivers the events after `position`.
    pub fn with_after(mut self, position: GlobalPosition) -> Self {
        self.after = position;
        self
    }

    /// Only events `filter` lets through (matched against today's events,
    /// after the upcasters).
    pub fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Delivers today's events: each stored event as `upcasters` rewrite it
    /// (as the repository decodes it), an event they split as several
    /// items, one they drop as none.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Polls at least this often.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Reads this many events per query; 0 is taken as 1.
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// Deliver the events after this position ([`GlobalPosition::START`]:
    /// from the first).
    pub fn after(&self) -> GlobalPosition {
        self.after
    }

    /// Which events to deliver.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// The upcasters events pass through before the filter.
    pub fn upcasters(&self) -> &Upcasters {
        &self.upcasters
    }

    /// Events read per query (at least 1).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Longest wait before looking for new events when no signal arrives: the
    /// bound on delivery delay if a backend's notification is lost.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }
}

/// A reader's place in the global feed, moving forward page by page and,
/// once caught up, waiting for the store's [`FeedSignal`] or the poll
/// interval. Subscriptions and projection runners (core's and the
/// backends') all move through the feed with it. It does not hold the
/// store: each read is handed one.
#[derive(Debug)]
pub struct FeedCursor {
    after: GlobalPosition,
    /// Evaluated by the store ([`EventReader::read_feed`]) when set.
    filter: Option<EventFilter>,
    signal: Option<FeedSignal>,
    caught_up: bool,
    /// The last read found events, or a signal woke the cursor: look again
    /// soon, since the signal for a commit may have been folded into an
    /// earlier one.
    active: bool,
    batch_size: usize,
    poll_interval: Duration,
}

/// After a signal or a read that found events, how soon a caught-up cursor
/// looks again, even without a further signal: backends may fold several
/// commits into one signal (a PostgreSQL store sends at most one per 50 ms).
const RECHECK_AFTER_SIGNAL: Duration = Duration::from_millis(50);

impl FeedCursor {
    /// A cursor after `options.after`, woken by `store`'s feed signal.
    pub fn new<S: EventReader + ?Sized>(store: &S, options: &SubscriptionOptions) -> Self {
        // Upcasters may turn a stored event into one the filter wants (or
        // the other way round): then the filter applies to today's events,
        // after the read, and the store reads the whole feed.
        let filter = (!options.filter.is_all() && options.upcasters.is_empty())
            .then(|| options.filter.clone());
        Self {
            after: options.after,
            filter,
            signal: store.feed_signal(),
            caught_up: false,
            active: false,
            batch_size: options.batch_size,
            poll_interval: options.poll_interval,
        }
    }

    /// Whether the last read reached the end of the feed: wait
    /// ([`wait`](Self::wait)) before reading again.
    pub fn is_caught_up(&self) -> bool {
        self.caught_up
    }

    /// The position the cursor has read up to: its last event's, or, with
    /// a filter the store evaluates, how far the store looked.
    pub fn position(&self) -> GlobalPosition {
        self.after
    }

    /// The next page of the feed, possibly empty when caught up; never
    /// waits. With a filter in the options (and no upcasters), the store
    /// evaluates it ([`EventReader::read_feed`]) and the cursor moves past
    /// what the store looked at, even when nothing matched.
    pub async fn read_page<S: EventReader + ?Sized>(
        &mut self,
        store: &S,
    ) -> Result<Vec<RecordedEvent>> {
        if let Some(signal) = self.signal.as_mut() {
            signal.mark_seen();
        }
        let Some(filter) = &self.filter else {
            let page = store.read_all(self.after, self.batch_size).await?;
            self.caught_up = page.len() < self.batch_size;
            if let Some(last) = page.last() {
                self.after = last.position;
                self.active = true;
            }
            return Ok(page);
        };
        let page = store.read_feed(self.after, self.batch_size, filter).await?;
        self.caught_up = page.at_end;
        let next = page.next_after(self.after);
        if next != self.after {
            self.after = next;
            self.active = true;
        }
        Ok(page.events)
    }

    /// The next non-empty page: reads at once while behind, and once caught
    /// up waits (see [`wait`](Self::wait)) between reads.
    pub async fn next_page<S: EventReader + ?Sized>(
        &mut self,
        store: &S,
    ) -> Result<Vec<RecordedEvent>> {
        loop {
            if self.caught_up {
                self.wait().await;
            }
            let page = self.read_page(store).await?;
            if !page.is_empty() {
                return Ok(page);
            }
        }
    }

    /// Waits for the store's signal or the poll interval, whichever comes
    /// first; at most 50 ms after a signal or a read that found events.
    pub async fn wait(&mut self) {
        let timeout = if self.active {
            self.poll_interval.min(RECHECK_AFTER_SIGNAL)
        } else {
            self.poll_interval
        };
        let pause = tokio::time::sleep(timeout);
        match self.signal.as_mut() {
            Some(signal) => {
                tokio::select! {
                    () = signal.changed() => self.active = true,
                    () = pause => self.active = false,
                }
            }
            None => pause.await,
        }
    }
}

/// Subscribing, for every store.
pub trait Subscribe: EventReader {
    /// The feed after `options.after`: first the history (catch-up), then
    /// new events as they commit (live), in position order, each once. The
    /// stream never ends by itself; a read error is yielded as an item, and
    /// the subscription goes on from where it was.
    ///
    /// ```
    /// use futures::TryStreamExt;
    /// use factum_core::{EventStore, Subscribe, SubscriptionOptions};
    ///
    /// async fn print_all(store: &dyn EventStore) -> factum_core::Result<()> {
    ///     let mut events = store.subscribe(SubscriptionOptions::from_start());
    ///     while let Some(event) = events.try_next().await? {
    ///         println!("{} {}", event.position, event.event_type);
    ///     }
    ///     Ok(())
    /// }
    /// ```
    fn subscribe(&self, options: SubscriptionOptions) -> BoxStream<'_, Result<RecordedEvent>> {
        let filter = options.filter.clone();
        let upcasters = options.upcasters.clone();
        stream::unfold(FeedCursor::new(self, &options), move |mut cursor| {
            let filter = filter.clone();
            let upcasters = upcasters.clone();
            async move {
                let items = match cursor.next_page(self).await {
                    Ok(page) => today(page, &upcasters, &filter),
                    Err(e) => {
                        // Wait before the retry, as after an empty page.
                        cursor.caught_up = true;
                        vec![Err(e)]
                    }
                };
                Some((items, cursor))
            }
        })
        .flat_map(stream::iter)
        .boxed()
    }
}

impl<S: EventReader + ?Sized> Subscribe for S {}

/// The items a page of stored events yields: today's events (by
/// `upcasters`) that `filter` lets through, and an error for each event the
/// upcasters fail on.
fn today(
    page: Vec<RecordedEvent>,
    upcasters: &Upcasters,
    filter: &EventFilter,
) -> Vec<Result<RecordedEvent>> {
    let mut items = Vec::with_capacity(page.len());
    for stored in page {
        if !upcasters.handles(&stored.event_type, stored.schema_version) {
            if filter.matches(&stored) {
                items.push(Ok(stored));
            }
            continue;
        }
        match upcasters.upcast(&stored) {
            Ok(today) => items.extend(
                today
                    .into_owned()
                    .into_iter()
                    .filter(|e| filter.matches(e))
                    .map(Ok),
            ),
            Err(e) => items.push(Err(e)),
        }
    }
    items
}
