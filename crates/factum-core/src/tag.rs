//! [`Tag`]: a validated label an event carries, such as `user:42`, that
//! queries across streams select on ([`EventQuery`](crate::EventQuery)).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest tag accepted, in bytes.
pub const MAX_TAG_BYTES: usize = 255;

/// Most tags one event may carry.
pub const MAX_TAGS_PER_EVENT: usize = 64;

/// A label an event carries, naming something the event is about beyond its
/// stream: `user:42`, `course:rust-101`, `email:ada@example.com`. A query
/// ([`EventQuery`](crate::EventQuery)) selects the events that carry given
/// tags, whatever stream they are in; a conditional append
/// ([`AppendCondition`](crate::AppendCondition)) fails when such an event
/// was stored after a decision was read.
///
/// A tag is non-empty, at most [`MAX_TAG_BYTES`] bytes long, and holds no
/// whitespace and no control characters. Cloning is cheap (shared string).
///
/// ```
/// use factum_core::Tag;
///
/// let tag = Tag::new("course:rust-101")?;
/// assert_eq!(tag.as_str(), "course:rust-101");
/// assert!(Tag::new("has space").is_err());
/// # Ok::<(), factum_core::TagError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(Arc<str>);

/// Why a string is not a valid [`Tag`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// The tag was the empty string.
    #[error("tag is empty")]
    Empty,
    /// The tag was longer than [`MAX_TAG_BYTES`].
    #[error("tag {prefix:?}... is {len} bytes long; at most {max} are allowed", max = MAX_TAG_BYTES)]
    TooLong {
        /// The first characters of the rejected tag.
        prefix: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The tag held whitespace or a control character.
    #[error(
        "tag {tag:?} holds {character:?} at byte {index}; tags hold no whitespace or control characters"
    )]
    Character {
        /// The rejected tag.
        tag: String,
        /// The offending character.
        character: char,
        /// Its byte offset.
        index: usize,
    },
}

impl Tag {
    /// Validates `tag` and makes a tag of it.
    pub fn new(tag: impl AsRef<str>) -> Result<Self, TagError> {
        let tag = tag.as_ref();
        if tag.is_empty() {
            return Err(TagError::Empty);
        }
        if tag.len() > MAX_TAG_BYTES {
            return Err(TagError::TooLong {
                prefix: tag.chars().take(32).collect(),
                len: tag.len(),
            });
        }
        let bad = |c: &char| c.is_control() || c.is_whitespace();
        if let Some((index, character)) = tag.char_indices().find(|(_, c)| bad(c)) {
            return Err(TagError::Character {
                tag: tag.to_owned(),
                character,
                index,
            });
        }
        Ok(Self(Arc::from(tag)))
    }

    /// The tag as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({:?})", &*self.0)
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Tag {
    type Error = TagError;

    fn try_from(tag: &str) -> Result<Self, TagError> {
        Self::new(tag)
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tag = String::deserialize(deserializer)?;
        Self::new(tag).map_err(serde::de::Error::custom)
    }
}

/// Adds each of `new` to `tags` unless it is there already, keeping the
/// order.
pub(crate) fn add_tags(tags: &mut Vec<Tag>, new: impl IntoIterator<Item = Tag>) {
    for tag in new {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_validated() {
        assert_eq!(Tag::new(""), Err(TagError::Empty));
        assert!(matches!(
            Tag::new("x".repeat(MAX_TAG_BYTES + 1)),
            Err(TagError::TooLong { len, .. }) if len == MAX_TAG_BYTES + 1
        ));
        assert!(Tag::new("x".repeat(MAX_TAG_BYTES)).is_ok());
        assert!(matches!(
            Tag::new("user:\t1"),
            Err(TagError::Character {
                index: 5,
                character: '\t',
                ..
            })
        ));
        assert!(matches!(
            Tag::new("a b"),
            Err(TagError::Character { index: 1, .. })
        ));
        assert_eq!(
            Tag::new("user:42").map(|t| t.to_string()),
            Ok("user:42".into())
        );
    }

    #[test]
    fn tags_round_trip_through_serde_and_are_checked() {
        let tag = Tag::new("course:rust-101").expect("valid");
        let json = serde_json::to_string(&tag).expect("serializes");
        assert_eq!(json, "\"course:rust-101\"");
        assert_eq!(serde_json::from_str::<Tag>(&json).ok(), Some(tag));
        assert!(serde_json::from_str::<Tag>("\"a b\"").is_err());
    }
}
