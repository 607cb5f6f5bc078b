//! The advisory lock keys an append takes (migration 0010): shared on what
//! its events could match, exclusive on what its condition's query asks
//! about. A writer of an event a running decision's query matches shares
//! a key the decision holds exclusively, so one waits for the other; any
//! other pair of appends shares no exclusive key and never waits.
//!
//! An event of type `T` carrying tags `t…` could match an item naming `T`
//! (`type T`), one with a tag `t` and no type (`tag t`), and one naming
//! `T` and `t` (`type-tag T t`). An item takes one of those keys for each
//! event it matches: each of its types; its first tag; its first tag with
//! each of its types. (An event the item matches carries all of its tags,
//! the first among them.) An item with no type and no tag matches every
//! event: its append locks the events table against writers instead
//! ([`LockKeys::table`]), so that no append pays for a key of its own.
//!
//! Keys are 64-bit FNV-1a hashes of their text (a collision only makes
//! two appends wait for each other needlessly), sorted, so that every
//! append takes its locks in one order.

use std::collections::BTreeMap;

/// FNV-1a, 64 bits: stable across builds and platforms, as every process
/// writing to one store must agree on the keys.
fn fnv1a(text: &str) -> i64 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

use factum_core::{EventData, EventQuery, Tag};

/// Separates the parts of a key: no event type, tag or schema name holds
/// a control character, so keys of different parts never coincide.
const SEPARATOR: char = '\u{1f}';

/// The keys of one append, each once, exclusive where any part of the
/// append needs it so.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct LockKeys {
    keys: BTreeMap<i64, bool>,
    /// Whether the append locks the events table against writers: its
    /// condition asks about every event.
    table: bool,
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
                (None, true) => locks.table = true,
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
        let held = self.keys.entry(fnv1a(&key)).or_insert(exclusive);
        *held |= exclusive;
    }

    /// The keys, in the order they are taken, as `append_events` and the
    /// one-statement appends bind them.
    pub(crate) fn keys(&self) -> Vec<i64> {
        self.keys.keys().copied().collect()
    }

    /// Whether the append locks the events table against writers.
    pub(crate) fn table(&self) -> bool {
        self.table
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
    /// decider holds exclusively, or the decider locks the table.
    fn meet(event: &EventData, item: QueryItem) -> bool {
        let writer = LockKeys::new("s", [event], None);
        let decider = LockKeys::new("s", [], Some(&EventQuery::item(item)));
        decider.table
            || decider
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
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
        let at = keys
            .iter()
            .position(|k| *k == fnv1a("s\u{1f}type-tag\u{1f}A\u{1f}x"))
            .unwrap();
        assert!(locks.exclusive()[at]);
        assert_ne!(
            LockKeys::new("other", [&event("A", &[])], None).keys(),
            LockKeys::new("s", [&event("A", &[])], None).keys(),
            "stores in other schemas share no key"
        );
        assert!(!locks.table());
        assert!(LockKeys::new("s", [], Some(&EventQuery::all())).table());
    }

    #[test]
    fn keys_are_fnv1a_of_their_text() {
        // The published FNV-1a 64 test vectors.
        let hash = |h: u64| i64::from_ne_bytes(h.to_ne_bytes());
        assert_eq!(fnv1a(""), hash(0xcbf2_9ce4_8422_2325));
        assert_eq!(fnv1a("a"), hash(0xaf63_dc4c_8601_ec8c));
    }
}
