//! The backend conformance suite: one async function per guarantee of
//! DESIGN.md, each taking a fresh, empty store. A backend's test file runs them
//! all with [`conformance_suite!`](crate::conformance_suite):
//!
//! ```text
//! factum_core::conformance_suite!(async {
//!     factum_core::conformance::Fixture::new(factum_memory::MemoryStore::new())
//! });
//! ```
//!
//! The functions panic (they are tests) with a message naming the broken
//! guarantee.

mod account;
mod append;
mod concurrency;
mod idempotency;
mod inject;
mod invalid;
mod model;
mod projection;
mod read;
mod repository;
mod state;
mod subscription;
mod support;

use std::any::Any;
use std::sync::Arc;

pub use append::*;
pub use concurrency::*;
pub use idempotency::*;
pub use inject::*;
pub use invalid::*;
pub use model::model_agreement;
pub use projection::*;
pub use read::*;
pub use repository::*;
pub use state::*;
pub use subscription::*;

use crate::EventStore;

/// A fresh, empty store for one test, plus whatever must live as long as it
/// (a temporary database, a file) and is cleaned up when dropped.
pub struct Fixture {
    /// The store under test.
    pub store: Arc<dyn EventStore>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Fixture {
    /// Wraps a store that needs no cleanup.
    pub fn new(store: impl EventStore + 'static) -> Self {
        Self {
            store: Arc::new(store),
            _guard: None,
        }
    }

    /// Keeps `guard` alive as long as the fixture; it is dropped after the
    /// store.
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self._guard = Some(Box::new(guard));
        self
    }
}

/// Generates one test per guarantee for a backend. `$fixture` is an
/// expression (typically an `async` block) that evaluates to a future of a
/// fresh [`Fixture`]; it is evaluated once per test. The backend's tests need
/// `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! conformance_suite {
    ($fixture:expr) => {
        $crate::conformance_suite!(@async $fixture;
            append_creates_stream_at_version_one,
            expected_any_appends_whatever_the_state,
            expected_no_stream_succeeds_and_fails,
            expected_stream_exists_succeeds_and_fails,
            expected_exact_succeeds_and_fails,
            conflict_reports_actual_version_and_writes_nothing,
            multi_stream_append_writes_every_stream,
            multi_stream_append_is_atomic,
            versions_are_contiguous_and_positions_increase,
            events_round_trip_with_metadata,
            duplicate_key_is_not_written_again,
            duplicate_key_in_other_stream_points_at_original,
            retry_with_stale_version_reports_duplicate,
            mixed_batch_writes_only_new_events,
            invalid_appends_are_rejected_and_write_nothing,
            read_options_select_ranges,
            missing_stream_reads_empty,
            lazy_read_covers_long_streams,
            payload_reads_match_event_reads,
            global_feed_pages_in_order,
            racing_exact_writers_lose_nothing,
            racing_any_writers_all_succeed,
            racing_duplicate_injections_write_once,
            snapshots_keep_the_newest,
            checkpoints_save_load_and_delete,
            repository_concurrent_commands_all_land,
            repository_errors_and_empty_commands_write_nothing,
            repository_loads_from_snapshots,
            repository_upcasts_old_events,
            repository_time_travel,
            injection_is_idempotent_and_checks_status,
            inject_and_wait_returns_the_response,
            concurrent_injections_write_once,
            subscription_catches_up_then_follows_live,
            subscription_starts_after_position_and_filters,
            projection_resumes_from_checkpoint,
            projection_failure_stops_at_the_failing_event,
            projection_rebuild_under_load_is_exact,
            projection_runs_live,
        );

        #[test]
        fn conformance_model_agreement() {
            $crate::conformance::model_agreement(|| ::std::boxed::Box::pin($fixture));
        }
    };
    (@async $fixture:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::conformance::Fixture = $fixture.await;
                $crate::conformance::$name(&fixture.store).await;
            }
        )*
    };
}
