//! [`Metadata`]: what is known about an event besides its payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::RecordedEvent;

/// Correlation, causation and actor of an event, plus free key/values.
///
/// The correlation id ties together every event of one business flow (a
/// transfer request and its response); the causation id names the event or
/// command that directly caused this one. [`Metadata::caused_by`] makes
/// both flow from one event to the next.
///
/// ```
/// use factum_core::Metadata;
///
/// let meta = Metadata::default()
///     .with_correlation_id("Transfer-7")
///     .with_actor("alice")
///     .with_custom("ip", "10.0.0.1");
/// assert_eq!(meta.correlation_id.as_deref(), Some("Transfer-7"));
/// assert_eq!(meta.custom["ip"], "10.0.0.1");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// Id shared by every event of one flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Id of what caused this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// Who or what acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Free key/values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

impl Metadata {
    /// The metadata of an event caused by `cause` (a command handled in
    /// response to it, then the events that command causes): the cause's
    /// correlation id, and the cause's event id as causation id. A cause
    /// without a correlation id starts the flow, whose correlation id is
    /// then its own event id, as event stores conventionally do. The
    /// actor and custom values are the new event's own: set them with the
    /// `with_*` methods.
    ///
    /// ```
    /// use factum_core::{EventData, GlobalPosition, Metadata, RecordedEvent, StreamId};
    ///
    /// let placed = EventData::json("OrderPlaced", b"{}".to_vec())
    ///     .with_metadata(Metadata::default().with_correlation_id("checkout-9"));
    /// let placed = RecordedEvent::from_data(placed, StreamId::new("order-1")?, 1, GlobalPosition::START, chrono::Utc::now());
    ///
    /// let caused = Metadata::caused_by(&placed).with_actor("payments");
    /// assert_eq!(caused.correlation_id.as_deref(), Some("checkout-9"));
    /// assert_eq!(caused.causation_id, Some(placed.event_id.to_string()));
    /// # Ok::<(), factum_core::StreamIdError>(())
    /// ```
    pub fn caused_by(cause: &RecordedEvent) -> Self {
        let cause_id = cause.event_id.to_string();
        Self {
            correlation_id: Some(
                cause
                    .metadata
                    .correlation_id
                    .clone()
                    .unwrap_or_else(|| cause_id.clone()),
            ),
            causation_id: Some(cause_id),
            ..Self::default()
        }
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sets the causation id.
    pub fn with_causation_id(mut self, id: impl Into<String>) -> Self {
        self.causation_id = Some(id.into());
        self
    }

    /// Sets the actor.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Adds one custom key/value.
    pub fn with_custom(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.custom.insert(key.into(), value.into());
        self
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.correlation_id.is_none()
            && self.causation_id.is_none()
            && self.actor.is_none()
            && self.custom.is_empty()
    }

    /// The JSON object backends store: `{}` when nothing is set.
    ///
    /// ```
    /// use factum_core::Metadata;
    ///
    /// let metadata = Metadata::default().with_actor("teller-17");
    /// assert_eq!(metadata.to_json()?, r#"{"actor":"teller-17"}"#);
    /// assert_eq!(Metadata::from_json(&metadata.to_json()?)?, metadata);
    /// assert!(Metadata::from_json("{}")?.is_empty());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn to_json(&self) -> serde_json::Result<String> {
        if self.is_empty() {
            // Most events carry none: skip serde.
            return Ok(EMPTY_JSON.to_owned());
        }
        serde_json::to_string(self)
    }

    /// Reads what [`to_json`](Self::to_json) wrote.
    pub fn from_json(json: &str) -> serde_json::Result<Self> {
        if json == EMPTY_JSON {
            return Ok(Self::default());
        }
        serde_json::from_str(json)
    }
}

/// Metadata with nothing set, as JSON.
const EMPTY_JSON: &str = "{}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventData, GlobalPosition, StreamId};

    fn recorded(metadata: Metadata) -> RecordedEvent {
        let data = EventData::json("Placed", b"{}".to_vec()).with_metadata(metadata);
        let stream = StreamId::new("order-1").unwrap();
        RecordedEvent::from_data(data, stream, 1, GlobalPosition::START, chrono::Utc::now())
    }

    #[test]
    fn a_caused_event_keeps_the_correlation_and_names_its_cause() {
        let cause = recorded(
            Metadata::default()
                .with_correlation_id("flow-1")
                .with_causation_id("earlier")
                .with_actor("alice")
                .with_custom("ip", "10.0.0.1"),
        );
        let caused = Metadata::caused_by(&cause);
        assert_eq!(
            caused,
            Metadata::default()
                .with_correlation_id("flow-1")
                .with_causation_id(cause.event_id.to_string())
        );
    }

    #[test]
    fn a_cause_without_correlation_starts_the_flow() {
        let cause = recorded(Metadata::default());
        let caused = Metadata::caused_by(&cause);
        let id = cause.event_id.to_string();
        assert_eq!(caused.correlation_id.as_ref(), Some(&id));
        assert_eq!(caused.causation_id.as_ref(), Some(&id));
        // The next hop keeps the flow's correlation id.
        let next = recorded(caused.clone());
        assert_eq!(Metadata::caused_by(&next).correlation_id, Some(id));
    }
}
