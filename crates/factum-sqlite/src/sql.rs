//! The SQL this backend runs. Every statement lives in a `.sql` file in
//! `src/sql/`; this module only loads them and builds the multi-row INSERTs.

use std::sync::LazyLock;

/// Current version of each stream of a JSON array, plus the feed's head.
pub(crate) const STREAM_STATES: &str = include_str!("sql/stream_states.sql");
/// Stored events carrying any idempotency key of a JSON array.
pub(crate) const FIND_KEYS: &str = include_str!("sql/find_keys.sql");
/// One page of a stream, oldest first.
pub(crate) const READ_STREAM_FORWARD: &str = include_str!("sql/read_stream_forward.sql");
/// One page of a stream, newest first.
pub(crate) const READ_STREAM_BACKWARD: &str = include_str!("sql/read_stream_backward.sql");
/// What folding needs of one page of a stream, oldest first.
pub(crate) const READ_PAYLOADS_FORWARD: &str = include_str!("sql/read_payloads_forward.sql");
/// What folding needs of one page of a stream, newest first.
pub(crate) const READ_PAYLOADS_BACKWARD: &str = include_str!("sql/read_payloads_backward.sql");
/// One page of the global feed.
pub(crate) const READ_ALL: &str = include_str!("sql/read_all.sql");
/// The events of a window of the feed that a filter lets through.
pub(crate) const READ_FEED: &str = include_str!("sql/read_feed.sql");
/// The events of a window of the feed that a filter with tags lets
/// through, found on the tags' index.
pub(crate) const READ_FEED_TAGGED: &str = include_str!("sql/read_feed_tagged.sql");
/// How many events of a window have one of some types, up to a bound.
pub(crate) const COUNT_TYPED: &str = include_str!("sql/count_typed.sql");
/// The events of a window that a filter with few events of its types lets
/// through, read through the type index.
pub(crate) const READ_FEED_TYPED: &str = include_str!("sql/read_feed_typed.sql");
/// The feed after a position, kept to a time range.
pub(crate) const READ_ALL_BETWEEN: &str = include_str!("sql/read_all_between.sql");
/// The rows of `factum_event_tags` for the events after a position.
pub(crate) const INSERT_TAGS: &str = include_str!("sql/insert_tags.sql");
/// The first event after a position that matches a query.
pub(crate) const CONDITION_CONFLICT: &str = include_str!("sql/condition_conflict.sql");
/// The current version of one stream.
pub(crate) const STREAM_VERSION: &str = include_str!("sql/stream_version.sql");
/// The position of the newest event.
pub(crate) const HEAD_POSITION: &str = include_str!("sql/head_position.sql");
/// Saves a snapshot unless a newer one is stored.
pub(crate) const SAVE_SNAPSHOT: &str = include_str!("sql/save_snapshot.sql");
/// Loads a stream's snapshot.
pub(crate) const LOAD_SNAPSHOT: &str = include_str!("sql/load_snapshot.sql");
pub(crate) const LOAD_SNAPSHOT_WITH_PAYLOADS: &str =
    include_str!("sql/load_snapshot_with_payloads.sql");
/// Saves (inserts or replaces) a checkpoint.
pub(crate) const SAVE_CHECKPOINT: &str = include_str!("sql/save_checkpoint.sql");
/// Loads a checkpoint.
pub(crate) const LOAD_CHECKPOINT: &str = include_str!("sql/load_checkpoint.sql");
/// Deletes a checkpoint.
pub(crate) const DELETE_CHECKPOINT: &str = include_str!("sql/delete_checkpoint.sql");

/// Parks an event (or updates a parked one's error and attempts).
pub(crate) const PARK_EVENT: &str = include_str!("sql/park_event.sql");
/// The events parked under a projection's name, oldest first.
pub(crate) const PARKED_EVENTS: &str = include_str!("sql/parked_events.sql");
/// Forgets a parked event.
pub(crate) const UNPARK_EVENT: &str = include_str!("sql/unpark_event.sql");
/// Creates a projection's checkpoint unless one exists; returns a row when
/// it did.
pub(crate) const CHECKPOINT_CREATE: &str = include_str!("sql/checkpoint_create.sql");
/// Moves a projection's checkpoint from where the runner found it; returns
/// a row when it was still there.
pub(crate) const CHECKPOINT_ADVANCE: &str = include_str!("sql/checkpoint_advance.sql");

/// Starts a write transaction that takes SQLite's write lock at once, so the
/// reads that check versions and keys already run under the lock.
pub(crate) const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";

/// Switches the database file to WAL journaling; answers the mode in force.
pub(crate) const ENABLE_WAL: &str = "PRAGMA journal_mode = WAL";

/// Most rows one INSERT carries. Batches are cut into chunks whose sizes are
/// powers of two up to this, so a connection prepares at most seven distinct
/// INSERTs and its statement cache keeps them all.
pub(crate) const MAX_ROWS_PER_INSERT: usize = 64;

/// Most events the one-statement append of `append_one.sql` takes.
pub(crate) const MAX_ONE_STATEMENT_EVENTS: usize = 16;

/// Values bound per event by `append_one.sql`, after its first three.
pub(crate) const ONE_STATEMENT_VALUES_PER_EVENT: usize = 7;

/// `APPEND_ONE[n - 1]` appends `n` events.
static APPEND_ONE: LazyLock<Vec<String>> = LazyLock::new(|| {
    let template = include_str!("sql/append_one.sql");
    let (head, tail) = template.split_once("{rows}").unwrap_or((template, ""));
    (0..MAX_ONE_STATEMENT_EVENTS)
        .map(|count| {
            let rows: Vec<String> = (0..=count)
                .map(|event| {
                    let first = 4 + event * ONE_STATEMENT_VALUES_PER_EVENT;
                    let params: Vec<String> = (first..first + ONE_STATEMENT_VALUES_PER_EVENT)
                        .map(|n| format!("?{n}"))
                        .collect();
                    format!("({}, {})", event + 1, params.join(", "))
                })
                .collect();
            format!("{head}{}{tail}", rows.join(",\n"))
        })
        .collect()
});

/// The one-statement append of `events` (1 to
/// [`MAX_ONE_STATEMENT_EVENTS`]) key-less events to one stream.
pub(crate) fn append_one(events: usize) -> Option<&'static str> {
    APPEND_ONE.get(events.checked_sub(1)?).map(String::as_str)
}

/// `INSERTS[i]` inserts `2^i` rows.
static INSERTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let head = include_str!("sql/insert_event.sql").trim_end();
    let row = include_str!("sql/insert_event_row.sql").trim();
    std::iter::successors(Some(1usize), |n| Some(n * 2))
        .take_while(|&n| n <= MAX_ROWS_PER_INSERT)
        .map(|n| {
            let rows = vec![row; n].join(",\n");
            format!("{head}\n{rows}")
        })
        .collect()
});

/// The sizes of the chunks a batch of `rows` events is inserted in: powers of
/// two, largest first, each at most [`MAX_ROWS_PER_INSERT`].
pub(crate) fn insert_chunks(rows: usize) -> impl Iterator<Item = usize> {
    let mut left = rows;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let chunk = if left >= MAX_ROWS_PER_INSERT {
            MAX_ROWS_PER_INSERT
        } else {
            1 << left.ilog2()
        };
        left -= chunk;
        Some(chunk)
    })
}

/// The INSERT for a chunk of `rows` events, a power of two up to
/// [`MAX_ROWS_PER_INSERT`] as [`insert_chunks`] gives.
pub(crate) fn insert_events(rows: usize) -> Option<&'static str> {
    if !rows.is_power_of_two() {
        return None;
    }
    INSERTS.get(rows.ilog2() as usize).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values bound per inserted event (columns of `insert_event_row.sql`).
    const COLUMNS_PER_EVENT: usize = 12;

    #[test]
    fn chunks_cover_every_row_with_cached_sizes() {
        for rows in 0..300 {
            let chunks: Vec<usize> = insert_chunks(rows).collect();
            assert_eq!(chunks.iter().sum::<usize>(), rows, "{rows}: {chunks:?}");
            assert!(chunks.iter().all(|c| c.is_power_of_two() && *c <= 64));
        }
        assert_eq!(insert_chunks(10).collect::<Vec<_>>(), [8, 2]);
    }

    #[test]
    fn one_statement_appends_number_every_value() {
        assert_eq!(append_one(0), None);
        assert_eq!(append_one(MAX_ONE_STATEMENT_EVENTS + 1), None);
        for events in 1..=MAX_ONE_STATEMENT_EVENTS {
            let sql = append_one(events).unwrap();
            assert!(!sql.contains("{rows}"));
            let last = 3 + events * ONE_STATEMENT_VALUES_PER_EVENT;
            assert!(sql.contains(&format!("?{last})")), "{sql}");
            assert!(!sql.contains(&format!("?{}", last + 1)), "{sql}");
        }
    }

    #[test]
    fn inserts_exist_for_every_chunk_size_only() {
        for rows in 1..=MAX_ROWS_PER_INSERT {
            assert_eq!(
                insert_events(rows).is_some(),
                rows.is_power_of_two(),
                "{rows}"
            );
        }
        assert_eq!(insert_events(0), None);
        assert_eq!(insert_events(2 * MAX_ROWS_PER_INSERT), None);
    }

    #[test]
    fn inserts_bind_eleven_values_per_row() {
        for rows in [1, 2, 4, 64] {
            let sql = insert_events(rows).unwrap();
            assert_eq!(sql.matches('?').count(), rows * COLUMNS_PER_EVENT);
        }
    }
}
