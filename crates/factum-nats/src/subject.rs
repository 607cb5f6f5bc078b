//! Subjects: an event is published to `{prefix}.{category}.{event_type}`,
//! so that a consumer subscribes to a category (`factum.order.>`) or to a
//! type in every category (`factum.*.OrderPlaced`).
//!
//! The category (the stream id's part before its first `-`) and the event
//! type become one subject token each, escaped reversibly: every character
//! but ASCII letters, digits, `-` and `_` is written as `%XX` per UTF-8
//! byte (`%` included), and an empty category as a lone `%`. So
//! `Order.Placed v2` is the token `Order%2EPlaced%20v2`, and a token never
//! holds the `.`, `*` and `>` that NATS gives a meaning.

use factum_core::StreamId;

use crate::error::NatsError;
use crate::escape::{escape, unescape};

/// The first tokens of every subject the relay publishes to, e.g.
/// `factum` or `shop.events`: tokens of ASCII letters, digits, `-` and
/// `_`, separated by `.`.
///
/// ```
/// use factum_nats::SubjectPrefix;
///
/// let prefix = SubjectPrefix::new("shop.events")?;
/// assert_eq!(prefix.wildcard(), "shop.events.>");
/// assert!(SubjectPrefix::new("shop.*").is_err());
/// # Ok::<(), factum_nats::NatsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPrefix(String);

impl SubjectPrefix {
    /// Validates `prefix`.
    pub fn new(prefix: impl Into<String>) -> Result<Self, NatsError> {
        let prefix = prefix.into();
        let valid = !prefix.is_empty()
            && prefix
                .split('.')
                .all(|token| !token.is_empty() && token.chars().all(plain));
        if valid {
            Ok(Self(prefix))
        } else {
            Err(NatsError::InvalidPrefix { prefix })
        }
    }

    /// The prefix as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The subjects of every event under this prefix, `{prefix}.>`: what a
    /// JetStream stream of the relay captures.
    pub fn wildcard(&self) -> String {
        format!("{}.>", self.0)
    }

    /// The subject of an event of `event_type` in `stream`.
    ///
    /// ```
    /// use factum_core::StreamId;
    /// use factum_nats::SubjectPrefix;
    ///
    /// let prefix = SubjectPrefix::new("factum")?;
    /// let stream = StreamId::new("order-7").unwrap();
    /// assert_eq!(prefix.subject(&stream, "Placed v2"), "factum.order.Placed%20v2");
    /// assert_eq!(prefix.parse("factum.order.Placed%20v2"), Some(("order".into(), "Placed v2".into())));
    /// # Ok::<(), factum_nats::NatsError>(())
    /// ```
    pub fn subject(&self, stream: &StreamId, event_type: &str) -> String {
        format!(
            "{}.{}.{}",
            self.0,
            token(stream.category()),
            token(event_type)
        )
    }

    /// The category and event type of a subject made by
    /// [`subject`](Self::subject); `None` for any other subject.
    pub fn parse(&self, subject: &str) -> Option<(String, String)> {
        let rest = subject.strip_prefix(&self.0)?.strip_prefix('.')?;
        let (category, event_type) = rest.split_once('.')?;
        if event_type.contains('.') {
            return None;
        }
        Some((from_token(category)?, from_token(event_type)?))
    }
}

impl Default for SubjectPrefix {
    /// `factum`.
    fn default() -> Self {
        Self("factum".to_owned())
    }
}

/// A character a token keeps as it is.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `text` as one subject token.
fn token(text: &str) -> String {
    if text.is_empty() {
        "%".to_owned()
    } else {
        escape(text, plain)
    }
}

/// The text of a token [`token`] made.
fn from_token(token: &str) -> Option<String> {
    match token {
        "%" => Some(String::new()),
        "" => None,
        escaped => unescape(escaped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefixes_are_validated() {
        assert!(SubjectPrefix::new("a.b-c_d").is_ok());
        for bad in ["", "a..b", ".a", "a.", "a b", "a.>", "a.*", "é"] {
            assert!(SubjectPrefix::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_empty_category_is_one_token() {
        let prefix = SubjectPrefix::default();
        let stream = StreamId::new("-7").unwrap();
        assert_eq!(prefix.subject(&stream, "E"), "factum.%.E");
        assert_eq!(
            prefix.parse("factum.%.E"),
            Some((String::new(), "E".into()))
        );
        assert_eq!(prefix.parse("other.a.E"), None);
        assert_eq!(prefix.parse("factum.a.b.c"), None);
    }

    proptest! {
        #[test]
        fn subjects_round_trip(category in "[^-\\p{Cc}]{0,12}", event_type in "[^\\p{Cc}]{1,12}") {
            let prefix = SubjectPrefix::new("p.q").unwrap();
            let stream = StreamId::new(format!("{category}-1")).unwrap();
            let subject = prefix.subject(&stream, &event_type);
            let tokens: Vec<&str> = subject.split('.').collect();
            prop_assert_eq!(tokens.len(), 4);
            prop_assert!(tokens.iter().all(|t| !t.is_empty() && !t.contains(['*', '>', ' '])));
            prop_assert_eq!(prefix.parse(&subject), Some((category, event_type)));
        }
    }
}
