//! Stream categories checked when the program is compiled: an
//! [`Aggregate`]'s `CATEGORY` and a [`CorrelatedSet`]'s `PREFIX` each name
//! the category of their streams (`"{CATEGORY}-{id}"`,
//! `"{PREFIX}-{key}"`), and a stream's category is the part of its id
//! before the first `-` ([`StreamId::category`](crate::StreamId::category)).
//! A category holding `-` would file its streams under another category,
//! so that a filter on it silently saw nothing; such a category fails the
//! build.
//!
//! The check is a constant of each type ([`AggregateCategory::CHECKED`],
//! [`CorrelationPrefix::CHECKED`]), which the repository, the aggregate
//! tests and the injections use in place of the bare name: rustc evaluates
//! it when it compiles code using that type (`cargo build`, `cargo test`;
//! `cargo check` does not get that far), and a bad name is an error
//! naming the type, e.g. "evaluation of `AggregateCategory::<SalesOrder>::CHECKED`
//! failed".
//!
//! An aggregate's category equal to a correlation set's prefix cannot be
//! seen at compile time (the two types do not know each other), so the
//! stream tells, when one of them meets the other's event there:
//! [`Error::CategoryShared`](crate::Error::CategoryShared), naming the
//! [`CategoryUser`] refused.

use std::marker::PhantomData;

use crate::aggregate::Aggregate;
use crate::inject::CorrelatedSet;
use crate::stream_id::MAX_STREAM_ID_BYTES;
use crate::{Error, RecordedEvent};

/// Longest category, in bytes: a stream id (at most
/// [`MAX_STREAM_ID_BYTES`]) also holds the `-` and at least one byte of id.
pub(crate) const MAX_CATEGORY_BYTES: usize = MAX_STREAM_ID_BYTES - 2;

/// The category of the aggregate `A`'s streams, checked at compile time.
pub(crate) struct AggregateCategory<A>(PhantomData<fn() -> A>);

impl<A: Aggregate> AggregateCategory<A> {
    /// `A::CATEGORY`, once it passed [`checked_category`]: using this
    /// constant fails the build when the category is not one.
    pub(crate) const CHECKED: &'static str = checked_category(A::CATEGORY);
}

/// The prefix of the correlation set `S`'s groups (their category),
/// checked at compile time.
pub(crate) struct CorrelationPrefix<S>(PhantomData<fn() -> S>);

impl<S: CorrelatedSet> CorrelationPrefix<S> {
    /// `S::PREFIX`, once it passed [`checked_category`]: using this
    /// constant fails the build when the prefix is no category.
    pub(crate) const CHECKED: &'static str = checked_category(S::PREFIX);
}

/// `category`, when it can be a stream category: not empty, at most
/// [`MAX_CATEGORY_BYTES`] long, without `-` and without control
/// characters. Otherwise it panics, which in a constant is a compile
/// error; the messages are literals, as a constant's panic must be.
pub(crate) const fn checked_category(category: &'static str) -> &'static str {
    let bytes = category.as_bytes();
    if bytes.is_empty() {
        panic!(
            "an Aggregate's CATEGORY or a CorrelatedSet's PREFIX must not be empty: \
             it is the category of their streams, the part of a stream id before the first '-'"
        );
    }
    if bytes.len() > MAX_CATEGORY_BYTES {
        panic!(
            "an Aggregate's CATEGORY or a CorrelatedSet's PREFIX must be at most 253 bytes long, \
             leaving room in a stream id (at most 255 bytes) for '-' and an id"
        );
    }
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'-' {
            panic!(
                "an Aggregate's CATEGORY or a CorrelatedSet's PREFIX must not contain '-': \
                 a stream's category is the part of its id before the first '-', so the streams \
                 of `sales-order` would be in category `sales` and a filter on `sales-order` would \
                 see none of them; write `salesOrder` or `sales_order` instead"
            );
        }
        // U+0000..U+001F and U+007F in one byte; U+0080..U+009F as C2 80..C2 9F.
        let c1 =
            byte == 0xC2 && i + 1 < bytes.len() && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9F;
        if byte < 0x20 || byte == 0x7F || c1 {
            panic!(
                "an Aggregate's CATEGORY or a CorrelatedSet's PREFIX must not hold control \
                 characters, which no stream id may hold"
            );
        }
        i += 1;
    }
    category
}

/// Who claims a stream category: an aggregate (its `CATEGORY`) or a
/// correlation set (its `PREFIX`), by the name of its type. See
/// [`Error::CategoryShared`](crate::Error::CategoryShared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryUser {
    /// An aggregate, by its type's name (`"shop::Order"`).
    Aggregate(&'static str),
    /// A correlation set, by its type's name (`"shop::Payments"`).
    CorrelationSet(&'static str),
}

impl CategoryUser {
    /// The aggregate `A`.
    pub(crate) fn aggregate<A: Aggregate>() -> Self {
        Self::Aggregate(std::any::type_name::<A>())
    }

    /// The correlation set `S`.
    pub(crate) fn correlation_set<S: CorrelatedSet>() -> Self {
        Self::CorrelationSet(std::any::type_name::<S>())
    }

    /// The error when `self` found `other`, an event of the other kind, in
    /// its stream: an aggregate found an injected event, or a correlation
    /// set an aggregate's; `None` when `other` is of `self`'s own kind.
    pub(crate) fn refused_by(self, other: &RecordedEvent) -> Option<Error> {
        let own_group = other.metadata.correlation_id.as_deref() == Some(other.stream_id.as_str());
        let foreign = match self {
            // Injected: an injection writes its group's name (its stream)
            // as the correlation id, with an idempotency key; the
            // repository writes no key.
            Self::Aggregate(_) => own_group && other.idempotency_key.is_some(),
            // An aggregate's: it carries its cause's correlation id, or
            // none, never its own stream's name.
            Self::CorrelationSet(_) => !own_group,
        };
        foreign.then(|| Error::CategoryShared {
            stream: other.stream_id.clone(),
            refused: self,
            found: other.event_type.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamId;

    fn problem(category: &'static str) -> Option<String> {
        std::panic::catch_unwind(|| checked_category(category))
            .err()
            .map(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            })
    }

    #[test]
    fn accepts_what_stream_ids_file_under_it() {
        for category in [
            "account",
            "salesOrder",
            "sales_order",
            "Transfer",
            "é",
            "订单",
        ] {
            assert_eq!(problem(category), None, "{category}");
            let stream = StreamId::new(format!("{category}-7")).unwrap();
            assert_eq!(stream.category(), category);
        }
        let longest: &'static str = "x".repeat(MAX_CATEGORY_BYTES).leak();
        assert_eq!(problem(longest), None);
        assert!(StreamId::new(format!("{longest}-7")).is_ok());
    }

    #[test]
    fn refuses_what_would_land_elsewhere_or_nowhere() {
        assert!(
            problem("sales-order")
                .unwrap()
                .contains("must not contain '-'")
        );
        assert!(problem("-").unwrap().contains("must not contain '-'"));
        assert!(problem("").unwrap().contains("must not be empty"));
        let long: &'static str = "x".repeat(MAX_CATEGORY_BYTES + 1).leak();
        assert!(problem(long).unwrap().contains("at most 253 bytes"));
        for control in ["a\nb", "a\u{7f}", "a\u{85}b", "\u{9f}"] {
            assert!(
                problem(control).unwrap().contains("control characters"),
                "{control:?}"
            );
            assert!(control.chars().any(char::is_control));
        }
        // Not a control character, though its second byte is 0x80..0x9F.
        assert_eq!(problem("\u{a0}\u{100}"), None);
    }
}
