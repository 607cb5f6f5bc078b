//! Queries across streams (the Dynamic Consistency Boundary model):
//! [`EventQuery`] selects events by type and [`Tag`], [`QueryRead`] is what
//! reading one returns, and [`AppendCondition`] makes an append fail when
//! the facts a decision was made on changed meanwhile.

use serde::{Deserialize, Serialize};

use crate::tag::add_tags;
use crate::{
    Error, EventFilter, EventReader, GlobalPosition, RecordedEvent, Result, StreamId, Tag,
};

/// Events one page of a query read asks for.
const QUERY_PAGE: usize = 1_000;

/// One alternative of an [`EventQuery`]: events of any of its types (any
/// type when it names none) that carry all of its tags (no tag needed when
/// it names none).
///
/// ```
/// use factum_core::{QueryItem, Tag};
///
/// let course = Tag::new("course:rust-101")?;
/// let item = QueryItem::types(["CourseDefined", "StudentSubscribed"]).with_tag(course.clone());
/// assert!(item.matches("StudentSubscribed", &[course.clone(), Tag::new("student:7")?]));
/// assert!(!item.matches("StudentSubscribed", &[Tag::new("student:7")?]));
/// assert!(!item.matches("CourseRenamed", &[course]));
/// # Ok::<(), factum_core::TagError>(())
/// ```
///
/// Serialized (with serde) as `{"types": [...], "tags": [...]}`, the form
/// the SQL backends bind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryItem {
    types: Vec<String>,
    tags: Vec<Tag>,
}

impl QueryItem {
    /// Events of any of these types (none: any type), whatever their tags.
    pub fn types<I: IntoIterator<Item = T>, T: Into<String>>(types: I) -> Self {
        let mut item = Self::default();
        for event_type in types {
            let event_type = event_type.into();
            if !item.types.contains(&event_type) {
                item.types.push(event_type);
            }
        }
        item
    }

    /// Events of any type that carry all of these tags.
    pub fn tags<I: IntoIterator<Item = Tag>>(tags: I) -> Self {
        Self::default().with_tags(tags)
    }

    /// Also requires `tag`.
    pub fn with_tag(mut self, tag: Tag) -> Self {
        add_tags(&mut self.tags, [tag]);
        self
    }

    /// Also requires each of `tags`.
    pub fn with_tags<I: IntoIterator<Item = Tag>>(mut self, tags: I) -> Self {
        add_tags(&mut self.tags, tags);
        self
    }

    /// The event types it selects; empty: any type.
    pub fn event_types(&self) -> &[String] {
        &self.types
    }

    /// The tags an event must carry, all of them; empty: none needed.
    pub fn required_tags(&self) -> &[Tag] {
        &self.tags
    }

    /// Whether an event of `event_type` carrying `tags` matches.
    pub fn matches(&self, event_type: &str, tags: &[Tag]) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == event_type))
            && self.tags.iter().all(|t| tags.contains(t))
    }

    /// The same selection as a feed filter.
    pub fn filter(&self) -> EventFilter {
        let filter = EventFilter::all().tags(self.tags.iter().cloned());
        if self.types.is_empty() {
            filter
        } else {
            filter.event_types(self.types.iter().cloned())
        }
    }
}

/// Which events a decision depends on, in any stream: the events matching
/// any of its [items](QueryItem). A query with no item matches no event;
/// [`EventQuery::all`] matches every event.
///
/// ```
/// use factum_core::{EventQuery, QueryItem, Tag};
///
/// // A student may subscribe if the course has room and the student is not
/// // subscribed yet: the course's events and the student's subscriptions.
/// let query = EventQuery::new()
///     .or(QueryItem::types(["CourseDefined", "StudentSubscribed"]).with_tag(Tag::new("course:c1")?))
///     .or(QueryItem::types(["StudentSubscribed"]).with_tag(Tag::new("student:s7")?));
/// assert_eq!(query.items().len(), 2);
/// # Ok::<(), factum_core::TagError>(())
/// ```
///
/// Serialized (with serde) as the array of its items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventQuery {
    items: Vec<QueryItem>,
}

impl EventQuery {
    /// A query with no item yet: it matches no event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event.
    pub fn all() -> Self {
        Self::new().or(QueryItem::default())
    }

    /// A query of one item.
    pub fn item(item: QueryItem) -> Self {
        Self::new().or(item)
    }

    /// Also matches the events `item` matches.
    pub fn or(mut self, item: QueryItem) -> Self {
        if !self.items.contains(&item) {
            self.items.push(item);
        }
        self
    }

    /// Its items.
    pub fn items(&self) -> &[QueryItem] {
        &self.items
    }

    /// Whether an event of `event_type` carrying `tags` matches.
    pub fn matches(&self, event_type: &str, tags: &[Tag]) -> bool {
        self.items.iter().any(|i| i.matches(event_type, tags))
    }

    /// Whether `event` matches.
    pub fn matches_event(&self, event: &RecordedEvent) -> bool {
        self.matches(&event.event_type, &event.tags)
    }
}

/// What reading an [`EventQuery`] returns
/// ([`EventReader::read_query`](crate::EventReader::read_query)): the
/// matching events in feed order, and the position the read is complete at.
///
/// Every matching event at or before [`position`](Self::position) is in
/// [`events`](Self::events), and none after it; every event stored later
/// lies after it. A decision made on these events is safe to write with
/// [`condition`](Self::condition): the append fails if a matching event
/// was stored since.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRead {
    /// The query that was read.
    pub query: EventQuery,
    /// The matching events, in feed order.
    pub events: Vec<RecordedEvent>,
    /// How far the read is complete: [`GlobalPosition::START`] on an empty
    /// store.
    pub position: GlobalPosition,
}

impl QueryRead {
    /// The condition under which a decision made on this read still holds:
    /// no event matching the query stored after the read's position.
    pub fn condition(&self) -> AppendCondition {
        AppendCondition::new(self.query.clone(), self.position)
    }
}

/// A condition an append checks atomically with its write
/// ([`EventAppender::append_if`](crate::EventAppender::append_if)): it fails
/// with [`Error::ConditionFailed`](crate::Error::ConditionFailed) when an
/// event matching [`query`](Self::query) was stored after
/// [`after`](Self::after) (anywhere, when `after` is
/// [`GlobalPosition::START`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendCondition {
    /// The events the decision depends on.
    pub query: EventQuery,
    /// The position the decision was read at.
    pub after: GlobalPosition,
}

impl AppendCondition {
    /// No event matching `query` may have been stored after `after`.
    pub fn new(query: EventQuery, after: GlobalPosition) -> Self {
        Self { query, after }
    }

    /// No event matching `query` may exist at all, e.g. "this user name was
    /// never claimed".
    pub fn none_match(query: EventQuery) -> Self {
        Self::new(query, GlobalPosition::START)
    }

    /// The first of `events` (in feed order) that breaks the condition:
    /// stored after [`after`](Self::after) and matching the query. For
    /// backends that hold their events in memory.
    pub fn first_conflict<'a>(
        &self,
        events: impl IntoIterator<Item = &'a RecordedEvent>,
    ) -> Option<&'a RecordedEvent> {
        events
            .into_iter()
            .find(|e| e.position > self.after && self.query.matches_event(e))
    }

    /// The [`Error::ConditionFailed`] that names the conflicting event
    /// (the first matching one after [`after`](Self::after)): its
    /// position, stream, version and type.
    pub fn failed(
        &self,
        position: GlobalPosition,
        stream: StreamId,
        stream_version: u64,
        event_type: String,
    ) -> Error {
        Error::ConditionFailed {
            after: self.after,
            position,
            stream,
            stream_version,
            event_type,
        }
    }
}

/// The default [`EventReader::read_query`]: each item read to the end of
/// the feed through [`EventReader::read_feed`]; the read is complete up to
/// the least position all items' reads looked at, and the events after it
/// are left out, so that what comes back is one consistent view.
pub(crate) async fn read_query<R: EventReader + ?Sized>(
    reader: &R,
    query: &EventQuery,
) -> Result<QueryRead> {
    let mut events: Vec<RecordedEvent> = Vec::new();
    let mut complete_to: Option<GlobalPosition> = None;
    for item in &query.items {
        let filter = item.filter();
        let mut after = GlobalPosition::START;
        loop {
            let page = reader.read_feed(after, QUERY_PAGE, &filter).await?;
            after = page.next_after(after);
            events.extend(page.events);
            if page.at_end {
                break;
            }
        }
        complete_to = Some(complete_to.map_or(after, |c| c.min(after)));
    }
    let position = complete_to.unwrap_or(GlobalPosition::START);
    events.retain(|e| e.position <= position);
    events.sort_by_key(|e| e.position);
    events.dedup_by_key(|e| e.position);
    Ok(QueryRead {
        query: query.clone(),
        events,
        position,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(t: &str) -> Tag {
        Tag::new(t).expect("valid tag")
    }

    #[test]
    fn an_item_needs_one_of_its_types_and_all_of_its_tags() {
        let item = QueryItem::types(["A", "B"]).with_tags([tag("x"), tag("y")]);
        assert!(item.matches("A", &[tag("y"), tag("x"), tag("z")]));
        assert!(item.matches("B", &[tag("x"), tag("y")]));
        assert!(!item.matches("C", &[tag("x"), tag("y")]));
        assert!(!item.matches("A", &[tag("x")]));
        assert!(QueryItem::tags([tag("x")]).matches("Any", &[tag("x")]));
        assert!(QueryItem::types(["A"]).matches("A", &[]));
    }

    #[test]
    fn a_query_is_the_union_of_its_items() {
        assert!(!EventQuery::new().matches("A", &[tag("x")]));
        assert!(EventQuery::all().matches("A", &[]));
        let query = EventQuery::item(QueryItem::types(["A"])).or(QueryItem::tags([tag("x")]));
        assert!(query.matches("A", &[]));
        assert!(query.matches("B", &[tag("x")]));
        assert!(!query.matches("B", &[tag("y")]));
    }

    #[test]
    fn an_item_as_a_filter_selects_the_same_events() {
        let item = QueryItem::types(["A"]).with_tag(tag("x"));
        let filter = item.filter();
        assert_eq!(filter.event_type_names(), Some(&["A".to_string()][..]));
        assert_eq!(filter.tag_names(), Some(&[tag("x")][..]));
        assert_eq!(
            QueryItem::tags([tag("x")]).filter().event_type_names(),
            None
        );
    }
}
