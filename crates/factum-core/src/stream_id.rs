//! [`StreamId`]: the validated name of one stream.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest stream id accepted, in bytes.
pub const MAX_STREAM_ID_BYTES: usize = 255;

/// The validated name of one stream: an aggregate instance (`"account-42"`)
/// or a correlation group (`"Transfer-7"`).
///
/// A stream id is non-empty, at most [`MAX_STREAM_ID_BYTES`] bytes long and
/// holds no control characters. Cloning is cheap (shared string).
///
/// ```
/// use factum_core::StreamId;
///
/// let id = StreamId::new("account-42")?;
/// assert_eq!(id.as_str(), "account-42");
/// assert_eq!(id.category(), "account");
/// assert!(StreamId::new("").is_err());
/// # Ok::<(), factum_core::StreamIdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Arc<str>);

/// Why a string is not a valid [`StreamId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamIdError {
    /// The stream id was the empty string.
    #[error("stream id is empty")]
    Empty,
    /// The stream id was longer than [`MAX_STREAM_ID_BYTES`].
    #[error("stream id {prefix:?}... is {len} bytes long; at most {max} are allowed", max = MAX_STREAM_ID_BYTES)]
    TooLong {
        /// The first characters of the rejected id.
        prefix: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The stream id held a control character.
    #[error("stream id {id:?} holds the control character {character:?} at byte {index}")]
    ControlCharacter {
        /// The rejected id.
        id: String,
        /// The offending character.
        character: char,
        /// Its byte offset.
        index: usize,
    },
}

impl StreamId {
    /// Validates `id` and makes a stream id of it.
    pub fn new(id: impl AsRef<str>) -> Result<Self, StreamIdError> {
        let id = id.as_ref();
        Self::validate(id)?;
        Ok(Self(Arc::from(id)))
    }

    /// Checks `id` without allocating a stream id.
    pub fn validate(id: &str) -> Result<(), StreamIdError> {
        if id.is_empty() {
            return Err(StreamIdError::Empty);
        }
        if id.len() > MAX_STREAM_ID_BYTES {
            return Err(StreamIdError::TooLong {
                prefix: id.chars().take(32).collect(),
                len: id.len(),
            });
        }
        if let Some((index, character)) = id.char_indices().find(|(_, c)| c.is_control()) {
            return Err(StreamIdError::ControlCharacter {
                id: id.to_owned(),
                character,
                index,
            });
        }
        Ok(())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stream's category: the part before the first `-`, or the whole id
    /// when it has none. `"account-42"` is in category `"account"`, and so
    /// is `"account-2024-7"`. (So a category cannot hold `-`: an
    /// aggregate's `CATEGORY` or a correlation set's `PREFIX` that does
    /// fails the build.)
    pub fn category(&self) -> &str {
        self.0
            .split_once('-')
            .map_or(&self.0, |(category, _)| category)
    }

    /// The id within the category: the part after the first `-`, such as
    /// the aggregate id `"42"` of `"account-42"` (`"2024-7"` of
    /// `"account-2024-7"`); `None` when the stream id has no `-`.
    ///
    /// ```
    /// use factum_core::StreamId;
    ///
    /// let stream = StreamId::new("account-2024-7")?;
    /// assert_eq!((stream.category(), stream.id()), ("account", Some("2024-7")));
    /// assert_eq!(StreamId::new("account")?.id(), None);
    /// # Ok::<(), factum_core::StreamIdError>(())
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.0.split_once('-').map(|(_, id)| id)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({:?})", &*self.0)
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for StreamId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for StreamId {
    type Error = StreamIdError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for StreamId {
    type Error = StreamIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl std::str::FromStr for StreamId {
    type Err = StreamIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::new(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids_and_splits_category() {
        let id = StreamId::new("order-2024-7").unwrap();
        assert_eq!(id.category(), "order");
        assert_eq!(id.id(), Some("2024-7"));
        let plain = StreamId::new("plain").unwrap();
        assert_eq!((plain.category(), plain.id()), ("plain", None));
        let trailing = StreamId::new("order-").unwrap();
        assert_eq!((trailing.category(), trailing.id()), ("order", Some("")));
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert_eq!(StreamId::new(""), Err(StreamIdError::Empty));
        let long = "x".repeat(MAX_STREAM_ID_BYTES + 1);
        assert!(matches!(
            StreamId::new(&long),
            Err(StreamIdError::TooLong { len, .. }) if len == MAX_STREAM_ID_BYTES + 1
        ));
        assert!(StreamId::new("x".repeat(MAX_STREAM_ID_BYTES)).is_ok());
        assert!(matches!(
            StreamId::new("a\nb"),
            Err(StreamIdError::ControlCharacter {
                character: '\n',
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn length_is_counted_in_bytes_not_characters() {
        // 128 two-byte characters = 256 bytes.
        assert!(StreamId::new("é".repeat(128)).is_err());
        assert!(StreamId::new("é".repeat(127)).is_ok());
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<StreamId>("\"ok-1\"").is_ok());
        assert!(serde_json::from_str::<StreamId>("\"\"").is_err());
    }
}
