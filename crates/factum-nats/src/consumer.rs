//! The consumer side: [`JetStreamFeed`] reads the events a [`Relay`]
//! published through a durable JetStream consumer, on a machine that has
//! no access to the store's database, and feeds a [`Projection`],
//! acknowledging each message only after the handler succeeded.
//!
//! [`Relay`]: crate::Relay

use std::time::Duration;

use async_nats::jetstream::{
    self, AckKind, consumer::AckPolicy, consumer::PullConsumer, consumer::pull,
};
use factum_core::{Projection, RecordedEvent};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::envelope;
use crate::error::NatsError;

/// Messages one fetch asks for, at most.
const BATCH: usize = 500;
/// How long a fetch waits for messages when there are none.
const FETCH_WAIT: Duration = Duration::from_millis(200);
/// A durable JetStream consumer of a relay's stream, as events.
///
/// The consumer remembers, on the NATS server, what was acknowledged: a
/// feed opened again under the same name goes on after it. A message that
/// was handled but whose acknowledgement was lost (a crash in between) is
/// delivered again: the handler sees it at least once, and a projection
/// that must see it exactly once keeps the last position it handled
/// ([`RecordedEvent::position`]) with its read model and skips older ones.
pub struct JetStreamFeed {
    consumer: PullConsumer,
    stream: String,
}

/// An event read from the feed, to be acknowledged once handled.
pub struct FeedMessage {
    /// The event, rebuilt from the message: payload byte for byte, the
    /// position and metadata it had in the store.
    pub event: RecordedEvent,
    message: jetstream::Message,
}

impl FeedMessage {
    /// Tells JetStream the event was handled, and waits for it to confirm,
    /// so that it is not delivered again.
    pub async fn ack(&self) -> Result<(), NatsError> {
        self.message.double_ack().await.map_err(|e| {
            let stream = self.message.info().map(|i| i.stream).unwrap_or_default();
            NatsError::nats(stream, "acknowledging a message", e)
        })
    }

    /// The event a received message carries, or why it carries none.
    fn read(
        stream: &str,
        received: Result<jetstream::Message, impl std::fmt::Display>,
    ) -> Result<Self, NatsError> {
        let message = received.map_err(|e| NatsError::nats(stream, "receiving a message", e))?;
        // A message without headers reads as one with none (and fails on
        // the first header it needs), without copying the headers it has.
        let none = async_nats::HeaderMap::new();
        let headers = message.headers.as_ref().unwrap_or(&none);
        let event = envelope::event_from_message(&message.subject, headers, &message.payload)?;
        Ok(Self { event, message })
    }
}

impl FeedMessage {
    /// Tells JetStream the event was not handled, so that it is delivered
    /// again at once, before newer messages. A failure to say so only
    /// delays that until the consumer's acknowledgement wait ends.
    async fn give_back(&self) {
        if let Err(error) = self.message.ack_with(AckKind::Nak(None)).await {
            tracing::warn!(%error, position = %self.event.position, "a message could not be given back");
        }
    }
}

impl JetStreamFeed {
    /// The durable consumer `durable` of the JetStream stream `stream`,
    /// created when missing (every message from the first, explicit
    /// acknowledgements).
    pub async fn durable(
        client: async_nats::Client,
        stream: &str,
        durable: &str,
    ) -> Result<Self, NatsError> {
        let fail =
            |operation: &str, e: &dyn std::fmt::Display| NatsError::nats(stream, operation, e);
        let context = jetstream::new(client);
        let js_stream = context
            .get_stream(stream)
            .await
            .map_err(|e| fail("finding the stream", &e))?;
        let config = pull::Config {
            durable_name: Some(durable.to_owned()),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        };
        let consumer = js_stream
            .get_or_create_consumer(durable, config)
            .await
            .map_err(|e| fail("creating or finding the consumer", &e))?;
        Ok(Self::from_consumer(consumer))
    }

    /// A feed over a pull consumer configured by the caller, for what
    /// [`durable`](Self::durable) leaves at JetStream's defaults: the
    /// acknowledgement wait (30 s: how long a message handed out and
    /// never acknowledged waits before it comes again), redelivery
    /// limits, a subject filter. Use explicit acknowledgements.
    ///
    /// ```
    /// use std::time::Duration;
    /// use factum_nats::async_nats::jetstream::{self, consumer::{AckPolicy, pull}};
    /// use factum_nats::{JetStreamFeed, NatsError};
    ///
    /// async fn feed(client: factum_nats::async_nats::Client) -> Result<JetStreamFeed, Box<dyn std::error::Error>> {
    ///     let stream = jetstream::new(client).get_stream("EVENTS").await?;
    ///     let config = pull::Config {
    ///         durable_name: Some("billing".into()),
    ///         ack_policy: AckPolicy::Explicit,
    ///         ack_wait: Duration::from_secs(5),
    ///         ..Default::default()
    ///     };
    ///     let consumer = stream.get_or_create_consumer("billing", config).await?;
    ///     Ok(JetStreamFeed::from_consumer(consumer))
    /// }
    /// ```
    pub fn from_consumer(consumer: PullConsumer) -> Self {
        let stream = consumer.cached_info().stream_name.clone();
        Self { consumer, stream }
    }

    /// The events, as a `futures::Stream` that follows the JetStream
    /// stream (it waits for new messages rather than ending), each to be
    /// acknowledged with [`FeedMessage::ack`] once handled. A message that
    /// does not read as an event is an error item; the stream goes on.
    ///
    /// ```
    /// use factum_nats::{JetStreamFeed, NatsError};
    /// use futures::StreamExt;
    ///
    /// async fn print(feed: &JetStreamFeed) -> Result<(), NatsError> {
    ///     let mut events = feed.events().await?;
    ///     while let Some(message) = events.next().await {
    ///         let message = message?;
    ///         println!("{} {}", message.event.position, message.event.event_type);
    ///         message.ack().await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub async fn events(
        &self,
    ) -> Result<BoxStream<'static, Result<FeedMessage, NatsError>>, NatsError> {
        let stream = self.stream.clone();
        let messages = self
            .consumer
            .messages()
            .await
            .map_err(|e| self.nats("subscribing to messages", e))?;
        Ok(messages
            .map(move |received| FeedMessage::read(&stream, received))
            .boxed())
    }

    /// The next messages available now, at most `max` (none when the
    /// feed is caught up after a short wait).
    pub async fn fetch(&self, max: usize) -> Result<Vec<FeedMessage>, NatsError> {
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(max)
            .expires(FETCH_WAIT)
            .messages()
            .await
            .map_err(|e| self.nats("fetching messages", e))?;
        let mut messages = Vec::new();
        while let Some(received) = batch.next().await {
            messages.push(FeedMessage::read(&self.stream, received)?);
        }
        Ok(messages)
    }

    /// Handles every event available now with `projection` (those its
    /// filter lets through; the others are acknowledged unhandled), each
    /// acknowledged after its handler succeeded; how many messages were
    /// acknowledged. A handler's error stops it: the event and the rest of
    /// its batch are given back unacknowledged (a negative
    /// acknowledgement), so that the next call sees them again, in order.
    pub async fn catch_up<P: Projection>(&self, projection: &mut P) -> Result<u64, NatsError> {
        let filter = projection.filter();
        let mut acknowledged = 0;
        loop {
            let messages = self.fetch(BATCH).await?;
            if messages.is_empty() {
                return Ok(acknowledged);
            }
            let mut messages = messages.into_iter();
            while let Some(message) = messages.next() {
                if filter.matches(&message.event)
                    && let Err(source) = projection.handle(&message.event).await
                {
                    // Given back, in order, the failed one first: JetStream
                    // delivers them again before newer ones.
                    for unhandled in std::iter::once(&message).chain(messages.as_slice()) {
                        unhandled.give_back().await;
                    }
                    return Err(NatsError::Handler {
                        projection: projection.name().to_owned(),
                        position: message.event.position,
                        reason: source.to_string(),
                    });
                }
                message.ack().await?;
                acknowledged += 1;
            }
        }
    }

    fn nats(&self, operation: &str, source: impl std::fmt::Display) -> NatsError {
        NatsError::nats(&self.stream, operation, source)
    }
}
