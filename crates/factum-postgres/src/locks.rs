//! The advisory lock keys an append takes (migration 0010): shared on what
//! its events could match, exclusive on what its condition's query asks
//! about. A writer of an event a running decision's query matches shares
//! a key the decision holds exclusively, so one waits for the other; any
//! other pair of appends shares no exclusive key and never waits.
//!
//! An event of type `T` carrying tags `t…` could match an item with no
//! type and no tag (`all`), one naming `T` (`type T`), one with a tag `t`
//! and no type (`tag t`), and one naming `T` and `t` (`type-tag T t`). An
//! item takes one of those keys for each event it matches: `all`; each of
//! its types; its first tag; its first tag with each of its types. (An
//! event the item matches carries all of its tags, the first among them.)

use std::collections::BTreeMap;

use factum_core::{EventData, EventQuery, Tag};

/// Separates the parts of a key: no event type, tag or schema name holds
/// a control character, so keys of different parts never coincide.
const SEPARATOR: char = '\u{1f}';

/// The keys of one append, each once, exclusive where any part of the
/// append needs it so.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct LockKeys {
    keys: BTreeMap<String, bool>,
}

impl LockKeys {
    /// The keys of an append of `events` in `schema` under a condition on
    /// `query`, if any.
    pub(crate) fn new<'a>(
        schema: &str,
        events: impl IntoIterator<Item = &'a EventData>,
        query: Option<&EventQuery>,
    ) -> Self {
        let mut locks = Self::default();
        let key = |parts: &[&str]| {
            let mut key = schema.to_owned();
            for part in parts {
                key.push(SEPARATOR);
                key.push_str(part);
            }
            key
        };
        for event in events {
            let t = event.event_type.as_str();
            locks.add(key(&["all"]), false);
            locks.add(key(&["type", t]), false);
            for tag in &event.tags {
                locks.add(key(&["tag", tag.as_str()]), false);
                locks.add(key(&["type-tag", t, tag.as_str()]), false);
            }
        }
        for item in query.map(EventQuery::items).unwrap_or_default() {
            let types = item.event_types();
            match (
                item.required_tags().first().map(Tag::as_str),
                types.is_empty(),
            ) {
                (None, true) => locks.add(key(&["all"]), true),
                (None, false) => types
                    .iter()
                    .for_each(|t| locks.add(key(&["type", t]), true)),
                (Some(tag), true) => locks.add(key(&["tag", tag]), true),
                (Some(tag), false) => types
                    .iter()
                    .for_each(|t| locks.add(key(&["type-tag", t, tag]), true)),
            }
        }
        locks
    }

    fn add(&mut self, key: String, exclusive: bool) {
        let held = self.keys.entry(key).or_insert(exclusive);
        *held |= exclusive;
    }

    /// The keys, as `append_events` and the one-statement appends bind them.
    pub(crate) fn keys(&self) -> Vec<&str> {
        self.keys.keys().map(String::as_str).collect()
    }

    /// For each key of [`keys`](Self::keys), whether it is taken
    /// exclusively.
    pub(crate) fn exclusive(&self) -> Vec<bool> {
        self.keys.values().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use factum_core::QueryItem;

    fn tag(t: &str) -> Tag {
        Tag::new(t).unwrap()
    }

    fn event(kind: &str, tags: &[&str]) -> EventData {
        EventData::json(kind, b"{}".to_vec()).with_tags(tags.iter().map(|t| tag(t)))
    }

    /// Whether a writer of `event` and a decider on `item` share a key the
    /// decider holds exclusively.
    fn meet(event: &EventData, item: QueryItem) -> bool {
        let writer = LockKeys::new("s", [event], None);
        let decider = LockKeys::new("s", [], Some(&EventQuery::item(item)));
        decider
            .keys
            .iter()
            .any(|(k, x)| *x && writer.keys.contains_key(k))
    }

    #[test]
    fn every_event_an_item_matches_meets_its_decider() {
        let items = [
            QueryItem::default(),
            QueryItem::types(["A"]),
            QueryItem::types(["A", "B"]),
            QueryItem::tags([tag("x")]),
            QueryItem::tags([tag("x"), tag("y")]),
            QueryItem::types(["A"]).with_tags([tag("x"), tag("y")]),
            QueryItem::types(["B", "A"]).with_tag(tag("y")),
        ];
        let events = [
            event("A", &[]),
            event("B", &["x"]),
            event("A", &["x", "y"]),
            event("A", &["y", "x", "z"]),
            event("C", &["y"]),
        ];
        for item in &items {
            for e in &events {
                if item.matches(&e.event_type, &e.tags) {
                    assert!(
                        meet(e, item.clone()),
                        "{e:?} matches {item:?} but takes no key of it"
                    );
                }
            }
        }
        assert!(!meet(&event("B", &["x"]), QueryItem::types(["A"])));
        assert!(!meet(&event("A", &["z"]), QueryItem::tags([tag("x")])));
    }

    #[test]
    fn a_key_wanted_both_ways_is_taken_exclusively_once() {
        let query = EventQuery::item(QueryItem::types(["A"]).with_tag(tag("x")));
        let locks = LockKeys::new("s", [&event("A", &["x"])], Some(&query));
        let keys = locks.keys();
        let unique: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len());
        let at = keys
            .iter()
            .position(|k| k.ends_with("type-tag\u{1f}A\u{1f}x"))
            .unwrap();
        assert!(locks.exclusive()[at]);
        assert!(LockKeys::new("other", [&event("A", &[])], None).keys()[0].starts_with("other"));
    }
}
