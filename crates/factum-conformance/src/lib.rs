//! The backend contract suite of factum: one async check per property a
//! store must keep (the guarantees of `docs/design.md`), each run on a
//! fresh, empty store, plus a model-based test that replays random
//! operations against a reference model.
//!
//! A backend runs every check from one test file, with a dev-dependency on
//! this crate and on `tokio` (features `macros`, `rt-multi-thread`):
//!
//! ```text
//! factum_conformance::conformance_suite!(async {
//!     factum_conformance::Fixture::new(factum_memory::MemoryStore::new())
//! });
//! ```
//!
//! The macro expands to one `#[tokio::test]` per check, named after it.
//! Someone writing a fourth backend runs the same suite. The checks panic
//! (they are tests) with a message naming the broken guarantee; each is
//! also public in [`checks`], to run one alone.

mod account;
mod append;
mod causation;
mod coalesced;
mod concurrency;
mod contention;
mod dcb;
mod dcb_racing;
mod evolution;
mod filtered;
pub mod harness;
pub mod hostile;
mod idempotency;
mod inject;
mod interfering;
mod invalid;
mod model;
mod poison;
mod projection;
mod read;
mod read_streams;
mod repository;
mod shared_category;
mod state;
mod subscription;
mod support;
pub mod time_range;

use std::any::Any;
use std::sync::Arc;

use factum_core::EventStore;

pub use model::model_agreement;

/// Every check of the suite, one public function each, taking a fresh,
/// empty store. Generated from the suite's one list of checks, the same
/// list [`conformance_suite!`] expands: a check missing from the list is
/// dead code, which the build refuses.
pub mod checks {
    crate::__checks!(reexport);
}

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

/// Generates one test per check for a backend, plus the model-based test.
/// `$fixture` is an expression (typically an `async` block) that evaluates
/// to a future of a fresh [`Fixture`]; it is evaluated once per test. The
/// backend's tests need `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency.
#[macro_export]
macro_rules! conformance_suite {
    ($fixture:expr) => {
        $crate::__checks!(tests $fixture);

        #[test]
        fn conformance_model_agreement() {
            $crate::model_agreement(|| ::std::boxed::Box::pin($fixture));
        }
    };
}

/// The one list of checks, as `module::function`, and what is generated from
/// it: the re-exports of [`checks`] (`reexport`) and one test per check
/// (`tests $fixture`). Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! __checks {
    ($mode:ident $($fixture:expr)?) => {
        $crate::__checks!(@expand $mode ($($fixture)?);
            append::append_creates_stream_at_version_one,
            append::expected_any_appends_whatever_the_state,
            append::expected_no_stream_succeeds_and_fails,
            append::expected_stream_exists_succeeds_and_fails,
            append::expected_exact_succeeds_and_fails,
            append::conflict_reports_actual_version_and_writes_nothing,
            append::multi_stream_append_writes_every_stream,
            append::multi_stream_append_is_atomic,
            append::versions_are_contiguous_and_positions_increase,
            append::events_round_trip_with_metadata,
            idempotency::duplicate_key_is_not_written_again,
            idempotency::duplicate_key_in_other_stream_points_at_original,
            idempotency::retry_with_stale_version_reports_duplicate,
            idempotency::skipping_duplicates_writes_only_new_events,
            idempotency::mixing_stored_and_new_events_is_refused,
            invalid::invalid_appends_are_rejected_and_write_nothing,
            read::read_options_select_ranges,
            read::missing_stream_reads_empty,
            read::lazy_read_covers_long_streams,
            read::payload_reads_match_event_reads,
            read::global_feed_pages_in_order,
            time_range::range_reads_select_by_recorded_time,
            time_range::recorded_times_never_go_back_within_a_stream,
            read_streams::read_streams_reads_each_stream_as_of_one_point,
            read_streams::read_streams_never_shows_one_stream_newer_than_another,
            concurrency::racing_exact_writers_lose_nothing,
            concurrency::racing_any_writers_all_succeed,
            concurrency::racing_duplicate_injections_write_once,
            coalesced::appends_sent_together_keep_their_own_outcomes,
            state::snapshots_keep_the_newest,
            state::snapshot_and_payloads_read_together,
            state::checkpoints_save_load_and_delete,
            repository::repository_concurrent_commands_all_land,
            contention::repository_burst_on_one_aggregate_lands_in_full,
            contention::repository_reports_exhausted_retries,
            repository::repository_errors_and_empty_commands_write_nothing,
            repository::repository_loads_from_snapshots,
            repository::repository_upcasts_old_events,
            repository::repository_time_travel,
            inject::injection_is_idempotent_and_checks_status,
            inject::inject_and_wait_returns_the_response,
            inject::concurrent_injections_write_once,
            causation::causation_flows_across_hops,
            shared_category::category_shared_by_an_aggregate_and_a_correlation_set_is_refused,
            subscription::subscription_catches_up_then_follows_live,
            subscription::subscription_starts_after_position_and_filters,
            projection::projection_resumes_from_checkpoint,
            projection::projection_failure_stops_at_the_failing_event,
            projection::projection_rebuild_under_load_is_exact,
            projection::projection_runs_live,
            poison::poison_event_is_parked_and_replayed,
            poison::rebuild_without_reset_is_refused,
            poison::parked_events_are_kept_per_projection,
            evolution::upcasters_split_and_drop_events_for_every_reader,
            evolution::newer_schema_versions_are_refused,
            filtered::filtered_reads_return_every_match_and_move_forward,
            filtered::overlapping_and_repeated_filters_read_every_match_once,
            filtered::filtered_subscriptions_deliver_only_matches,
            dcb::tags_are_stored_and_filter_the_feed,
            dcb::read_query_returns_matches_across_streams,
            dcb::conditional_append_fails_exactly_on_a_newer_match,
            dcb_racing::racing_deciders_claim_a_name_once,
            dcb_racing::racing_students_fill_a_course_to_capacity,
            dcb_racing::racing_transfers_never_overdraw,
        );
    };
    (@expand reexport (); $($module:ident::$name:ident,)*) => {
        $(pub use $crate::$module::$name;)*
    };
    (@expand tests ($fixture:expr); $($module:ident::$name:ident,)*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::Fixture = $fixture.await;
                $crate::checks::$name(&fixture.store).await;
            }
        )*
    };
}
