//! [`Relay`]: the global feed of a store, published to a JetStream stream
//! exactly once and in feed order.
//!
//! The JetStream stream is the relay's checkpoint: on every start (and
//! after every failure) the relay reads the stream's last message and
//! resumes after the position in its `Factum-Position` header, so a crash
//! between a publish and anything else never loses or repeats an event,
//! however long ago the duplicate window closed. Each message is
//! published with `Nats-Expected-Last-Sequence` set to the sequence its
//! predecessor must have: publishes are pipelined (a bounded window of
//! acknowledgements outstanding), and when one fails, every later one
//! fails too instead of overtaking it; the relay then resumes from what
//! the stream holds. `Nats-Msg-Id` (the event id) adds JetStream's own
//! duplicate detection within its window.
//!
//! Several relays of one feed may run, for availability, each with a
//! [`WorkerLease`]: only the holder publishes, the others take over when
//! its term ends. The lease is not what keeps the stream exact: a holder
//! that stalled past its term may still publish once more, and its
//! publish then fails the expected-last-sequence check like any stale one.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, Context, context::PublishAckFuture, stream::Config};
use factum_core::{EventReader, GlobalPosition, LeaseTerm, WorkerLease};

use crate::envelope;
use crate::error::NatsError;
use crate::subject::SubjectPrefix;

/// The header that makes JetStream refuse a message unless the stream's
/// last sequence is the given one.
const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";

/// Where and how a [`Relay`] publishes.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    stream: String,
    prefix: SubjectPrefix,
    duplicate_window: Duration,
    window: usize,
    page: usize,
    poll_interval: Duration,
}

impl RelayOptions {
    /// Publishes to the JetStream stream `stream` (created when missing,
    /// capturing `{prefix}.>`), under the prefix `factum`, with a
    /// duplicate window of 2 minutes, up to 256 acknowledgements
    /// outstanding, reading the feed 500 events at a time and looking for
    /// new ones every 100 ms.
    pub fn new(stream: impl Into<String>) -> Self {
        Self {
            stream: stream.into(),
            prefix: SubjectPrefix::default(),
            duplicate_window: Duration::from_secs(120),
            window: 256,
            page: 500,
            poll_interval: Duration::from_millis(100),
        }
    }

    /// Publishes under `prefix`.
    pub fn with_prefix(mut self, prefix: SubjectPrefix) -> Self {
        self.prefix = prefix;
        self
    }

    /// JetStream's duplicate window, for a stream the relay creates.
    pub fn with_duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// At most `window` publishes awaiting their acknowledgement (at
    /// least 1).
    pub fn with_window(mut self, window: usize) -> Self {
        self.window = window.max(1);
        self
    }

    /// How long the relay waits before looking for new events when it is
    /// caught up.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The JetStream stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }
}

/// Publishes a store's global feed to a JetStream stream, every event
/// exactly once and in feed order, across crashes of the relay, dropped
/// connections and NATS restarts: the stream itself is the checkpoint (its
/// last message's position), and each publish expects its predecessor's
/// sequence, so none can overtake a failed one.
///
/// ```
/// use std::sync::Arc;
/// use factum_core::{BoxError, EventStore};
/// use factum_nats::{Relay, RelayOptions, SubjectPrefix};
///
/// /// Relays the feed to the JetStream stream `EVENTS`, subjects `shop.>`.
/// async fn relay(store: Arc<dyn EventStore>, nats_url: &str) -> Result<(), BoxError> {
///     let client = async_nats::connect(nats_url).await?;
///     let options = RelayOptions::new("EVENTS").with_prefix(SubjectPrefix::new("shop")?);
///     Relay::new(store, client, options).run().await?;
///     Ok(())
/// }
/// ```
pub struct Relay<S> {
    store: S,
    context: Context,
    options: RelayOptions,
    lease: Option<Box<dyn WorkerLease>>,
    published: AtomicU64,
}

impl<S: EventReader> Relay<S> {
    /// A relay of `store`'s feed over `client`.
    pub fn new(store: S, client: async_nats::Client, options: RelayOptions) -> Self {
        Self {
            store,
            context: jetstream::new(client),
            options,
            lease: None,
            published: AtomicU64::new(0),
        }
    }

    /// Publishes only while holding `lease`, so that several relays of
    /// this feed (in several processes) can be started: one publishes,
    /// the others stand by and one takes over within about the lease's
    /// time to live when it dies. On PostgreSQL, take the lease from the
    /// store (`PostgresStore::worker_lease`). A SQLite file or a memory
    /// store lives on one machine: run one relay beside it. Relays
    /// without a lease, or with a lost one, cannot double or reorder the
    /// stream either (each publish expects its predecessor's sequence),
    /// they only waste work refusing each other.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use factum_nats::{Relay, RelayOptions};
    /// use factum_postgres::{Lease, PostgresStore};
    ///
    /// /// Run in each of several processes: one publishes at a time.
    /// async fn relay(store: PostgresStore, nats_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    ///     let client = factum_nats::async_nats::connect(nats_url).await?;
    ///     let lease = store.worker_lease("relay:EVENTS", Lease::new(Duration::from_secs(5)));
    ///     Relay::new(store, client, RelayOptions::new("EVENTS"))
    ///         .with_lease(lease)
    ///         .run()
    ///         .await?;
    ///     Ok(())
    /// }
    /// ```
    pub fn with_lease(mut self, lease: impl WorkerLease + 'static) -> Self {
        self.lease = Some(Box::new(lease));
        self
    }

    /// How many events this relay has published (and JetStream
    /// acknowledged) since it was made.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Creates the JetStream stream when it is missing, and checks that it
    /// captures the relay's subjects.
    pub async fn ensure_stream(&self) -> Result<(), NatsError> {
        let wildcard = self.options.prefix.wildcard();
        let config = Config {
            name: self.options.stream.clone(),
            subjects: vec![wildcard.clone()],
            duplicate_window: self.options.duplicate_window,
            ..Default::default()
        };
        let mut stream = self
            .context
            .get_or_create_stream(config)
            .await
            .map_err(|e| self.nats("creating or finding the stream", e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| self.nats("reading the stream's configuration", e))?;
        if !info.config.subjects.contains(&wildcard) {
            return Err(NatsError::StreamMismatch {
                stream: self.options.stream.clone(),
                expected: wildcard,
                subjects: info.config.subjects.clone(),
            });
        }
        Ok(())
    }

    /// The position of the last event the stream holds
    /// ([`GlobalPosition::START`] when it holds none) and its sequence.
    pub async fn published_up_to(&self) -> Result<(GlobalPosition, u64), NatsError> {
        let mut stream = self
            .context
            .get_stream(&self.options.stream)
            .await
            .map_err(|e| self.nats("finding the stream", e))?;
        let last = stream
            .info()
            .await
            .map_err(|e| self.nats("reading the stream's state", e))?
            .state
            .last_sequence;
        if last == 0 {
            return Ok((GlobalPosition::START, 0));
        }
        let message = stream
            .get_raw_message(last)
            .await
            .map_err(|e| self.nats("reading the stream's last message", e))?;
        let position = envelope::position(&message.subject, &message.headers)?;
        Ok((position, last))
    }

    /// Publishes every event of the feed after what the stream holds, up
    /// to the feed's head; how many it published. A failure leaves the
    /// stream holding a prefix of the feed: call again to go on. With a
    /// lease, waits for it first and lets it go at the end.
    pub async fn catch_up(&self) -> Result<u64, NatsError> {
        let Some(lease) = &self.lease else {
            return self.publish_while(None).await;
        };
        let term = lease.acquire().await.map_err(NatsError::Store)?;
        let published = self.publish_while(Some(&term)).await;
        self.release(term).await;
        published
    }

    /// Publishes every event after what the stream holds, up to the feed's
    /// head, or until `term` is lost.
    async fn publish_while(&self, term: Option<&LeaseTerm>) -> Result<u64, NatsError> {
        let (mut after, mut sequence) = self.published_up_to().await?;
        let mut pending: VecDeque<(u64, PublishAckFuture)> = VecDeque::new();
        let mut published = 0;
        'feed: loop {
            let page = self
                .store
                .read_all(after, self.options.page)
                .await
                .map_err(NatsError::Store)?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.position;
            for event in &page {
                if term.is_some_and(LeaseTerm::is_lost) {
                    break 'feed;
                }
                let mut headers = envelope::headers(event);
                headers.insert(EXPECTED_LAST_SEQUENCE, sequence.to_string());
                let subject = self
                    .options
                    .prefix
                    .subject(&event.stream_id, &event.event_type);
                let ack = self
                    .context
                    .publish_with_headers(subject, headers, event.payload.clone().into())
                    .await
                    .map_err(|e| self.nats("publishing", e))?;
                sequence += 1;
                pending.push_back((sequence, ack));
                if pending.len() >= self.options.window {
                    published += self.confirm(pending.pop_front()).await?;
                }
            }
        }
        while let Some(next) = pending.pop_front() {
            published += self.confirm(Some(next)).await?;
        }
        Ok(published)
    }

    /// Awaits one publish's acknowledgement and checks it landed where it
    /// was meant to: 1 when this relay stored it, 0 when JetStream found
    /// the same event (its `Nats-Msg-Id`) at that very sequence already,
    /// stored by another relay racing this one, which is as good.
    async fn confirm(&self, next: Option<(u64, PublishAckFuture)>) -> Result<u64, NatsError> {
        let Some((expected, ack)) = next else {
            return Ok(0);
        };
        let ack = ack
            .await
            .map_err(|e| self.nats("awaiting a publish's acknowledgement", e))?;
        if ack.duplicate && ack.sequence == expected {
            return Ok(0);
        }
        if ack.duplicate || ack.sequence != expected {
            return Err(NatsError::UnexpectedSequence {
                stream: self.options.stream.clone(),
                expected,
                got: ack.sequence,
                duplicate: ack.duplicate,
            });
        }
        self.published.fetch_add(1, Ordering::Relaxed);
        Ok(1)
    }

    /// Catches up, then follows the feed, forever: a failure (NATS or the
    /// store unreachable, a publish refused) is logged and the relay
    /// starts over from what the stream holds after a pause. With a
    /// lease, it publishes only while holding it, and waits to take it
    /// again whenever it is lost. Returns only when the stream cannot be
    /// set up.
    pub async fn run(&self) -> Result<(), NatsError> {
        self.run_until(std::future::pending()).await
    }

    /// As [`run`](Self::run), until `shutdown` completes: then the
    /// publishes in flight are dropped (the next relay resumes from what
    /// the stream holds) and the lease, if held, is let go at once.
    ///
    /// ```no_run
    /// use tokio::sync::oneshot;
    ///
    /// # async fn demo(relay: factum_nats::Relay<factum_memory::MemoryStore>) -> Result<(), factum_nats::NatsError> {
    /// let (stop, stopped) = oneshot::channel::<()>();
    /// // ... hand `stop` to whatever decides the process ends ...
    /// # drop(stop);
    /// relay.run_until(async { stopped.await.ok(); }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) -> Result<(), NatsError> {
        self.ensure_stream().await?;
        let mut term = None;
        tokio::select! {
            () = shutdown => {}
            never = self.follow(&mut term) => match never {},
        }
        if let Some(term) = term {
            self.release(term).await;
        }
        Ok(())
    }

    /// Takes the lease (if any) and publishes while holding it, forever;
    /// `term` is the term held, for the caller to let go.
    async fn follow(&self, term: &mut Option<LeaseTerm>) -> std::convert::Infallible {
        loop {
            if let Some(lease) = &self.lease
                && term.as_ref().is_none_or(LeaseTerm::is_lost)
            {
                *term = None;
                match lease.acquire().await {
                    Ok(taken) => {
                        tracing::info!(stream = %self.options.stream, holder = lease.holder(), token = taken.token(), "relay lease taken");
                        *term = Some(taken);
                    }
                    Err(error) => {
                        tracing::warn!(stream = %self.options.stream, %error, "taking the relay's lease failed");
                        tokio::time::sleep(self.options.poll_interval).await;
                        continue;
                    }
                }
            }
            match self.publish_while(term.as_ref()).await {
                Ok(0) => tokio::time::sleep(self.options.poll_interval).await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(stream = %self.options.stream, %error, "relay failed; resuming from the stream");
                    tokio::time::sleep(self.options.poll_interval).await;
                }
            }
        }
    }

    /// Lets a held lease go; a failure only delays the other relays until
    /// it expires.
    async fn release(&self, term: LeaseTerm) {
        if let Some(lease) = &self.lease
            && let Err(error) = lease.release(term).await
        {
            tracing::warn!(stream = %self.options.stream, %error, "releasing the relay's lease failed; it expires by itself");
        }
    }

    fn nats(&self, operation: &str, source: impl std::fmt::Display) -> NatsError {
        NatsError::nats(&self.options.stream, operation, source)
    }
}
