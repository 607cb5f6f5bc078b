//! [`RetryPolicy`] and [`HandlerRetries`]: how often and how patiently a
//! failing handler is tried again, the same in every runner.

use std::time::Duration;

use super::ProjectionError;
use crate::{BoxError, GlobalPosition, RecordedEvent};

/// How often and how patiently a failing handler is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per event, the first included.
    pub max_attempts: u32,
    /// Pause after the first failure; doubles after each further one.
    pub first_backoff: Duration,
    /// Longest pause.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// The failures of a handler on one event, counted against a
/// [`RetryPolicy`]: a failure on another event starts the count afresh.
/// For runners; a projection needs none of it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use factum_core::backend::HandlerRetries;
/// use factum_core::{EventData, GlobalPosition, RecordedEvent, RetryPolicy, StreamId};
///
/// let policy = RetryPolicy { max_attempts: 2, first_backoff: Duration::ZERO, max_backoff: Duration::ZERO };
/// let mut retries = HandlerRetries::new(policy);
/// let data = EventData::json("Deposited", b"{}".to_vec());
/// let stream = StreamId::new("account-1").unwrap();
/// let event = RecordedEvent::from_data(data, stream, 1, GlobalPosition::from_parts(0, 1), chrono::Utc::now());
/// assert_eq!(retries.failed("totals", &event, "down".into()).await.ok(), Some(1));
/// let given_up = retries.failed("totals", &event, "down".into()).await.unwrap_err();
/// assert!(given_up.to_string().contains("after 2 attempts: down"));
/// # }
/// ```
#[derive(Debug)]
pub struct HandlerRetries {
    policy: RetryPolicy,
    /// The failing event's position and its failures so far.
    failing: Option<(GlobalPosition, u32)>,
    backoff: Duration,
}

impl HandlerRetries {
    /// No failures yet.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            failing: None,
            backoff: policy.first_backoff,
        }
    }

    /// Counts a failure of `projection`'s handler on `event`. While attempts
    /// are left, pauses (the pause doubling each time, up to the policy's
    /// longest) and returns the failures so far: try again. Once they are
    /// spent, returns [`ProjectionError::Handler`] with `source`.
    pub async fn failed(
        &mut self,
        projection: &str,
        event: &RecordedEvent,
        source: BoxError,
    ) -> Result<u32, ProjectionError> {
        let attempts = match self.failing {
            Some((position, n)) if position == event.position => n + 1,
            _ => {
                self.backoff = self.policy.first_backoff;
                1
            }
        };
        self.failing = Some((event.position, attempts));
        if attempts >= self.policy.max_attempts {
            return Err(ProjectionError::Handler {
                projection: projection.to_owned(),
                position: event.position,
                stream: event.stream_id.to_string(),
                event_type: event.event_type.clone(),
                attempts,
                source,
            });
        }
        tracing::warn!(projection, position = %event.position, error = %source, attempts, "projection handler failed; retrying");
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(self.policy.max_backoff);
        Ok(attempts)
    }
}
