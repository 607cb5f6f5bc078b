//! The SQL statements, loaded from `src/sql/*.sql` and bound to one schema.

use std::sync::Arc;

use sqlx::{AssertSqlSafe, SqlStr};

use crate::SchemaName;

/// Every statement a store sends, with its schema filled in. The schema is a
/// validated, quoted identifier (see [`SchemaName`]): the only text ever
/// substituted into SQL.
#[derive(Debug)]
pub(crate) struct Queries {
    pub(crate) append: Arc<str>,
    pub(crate) append_one: Arc<str>,
    pub(crate) append_single: Arc<str>,
    pub(crate) append_batch: Arc<str>,
    pub(crate) read_stream_forward: Arc<str>,
    pub(crate) read_stream_backward: Arc<str>,
    pub(crate) read_payloads_forward: Arc<str>,
    pub(crate) read_payloads_backward: Arc<str>,
    pub(crate) read_all: Arc<str>,
    pub(crate) read_feed: Arc<str>,
    pub(crate) read_feed_tagged: Arc<str>,
    pub(crate) read_all_between: Arc<str>,
    pub(crate) head_position: Arc<str>,
    pub(crate) feed_holders: Arc<str>,
    pub(crate) stream_version: Arc<str>,
    pub(crate) stream_versions_at: Arc<str>,
    pub(crate) save_snapshot: Arc<str>,
    pub(crate) load_snapshot: Arc<str>,
    pub(crate) load_snapshot_with_payloads: Arc<str>,
    pub(crate) save_checkpoint: Arc<str>,
    pub(crate) load_checkpoint: Arc<str>,
    pub(crate) delete_checkpoint: Arc<str>,
    pub(crate) park_event: Arc<str>,
    pub(crate) parked_events: Arc<str>,
    pub(crate) unpark_event: Arc<str>,
    pub(crate) notify_feed: Arc<str>,
}

impl Queries {
    pub(crate) fn new(schema: &SchemaName) -> Self {
        let quoted = schema.quoted();
        let bind = |template: &str| fill(template, &quoted);
        // A payload read is a stream read of fewer columns.
        let payloads =
            |template: &str| bind(&template.replace("{event_columns}", "{payload_columns}"));
        Self {
            append: bind(include_str!("sql/append.sql")),
            append_one: bind(include_str!("sql/append_one.sql")),
            append_single: bind(include_str!("sql/append_single.sql")),
            append_batch: bind(&with_bindings(
                include_str!("sql/append_batch.sql"),
                &[
                    ("{stream_id}", "appends.stream_id"),
                    ("{expected}", "appends.expected"),
                    ("{lock_keys}", "$10"),
                ],
            )),
            read_stream_forward: bind(include_str!("sql/read_stream_forward.sql")),
            read_stream_backward: bind(include_str!("sql/read_stream_backward.sql")),
            read_payloads_forward: payloads(include_str!("sql/read_stream_forward.sql")),
            read_payloads_backward: payloads(include_str!("sql/read_stream_backward.sql")),
            read_all: bind(include_str!("sql/read_all.sql")),
            read_feed: bind(include_str!("sql/read_feed.sql")),
            read_feed_tagged: bind(include_str!("sql/read_feed_tagged.sql")),
            read_all_between: bind(&within_range(include_str!("sql/read_all.sql"))),
            head_position: bind(include_str!("sql/head_position.sql")),
            feed_holders: bind(include_str!("sql/feed_holders.sql")),
            stream_version: bind(include_str!("sql/stream_version.sql")),
            stream_versions_at: bind(include_str!("sql/stream_versions_at.sql")),
            save_snapshot: bind(include_str!("sql/save_snapshot.sql")),
            load_snapshot: bind(include_str!("sql/load_snapshot.sql")),
            load_snapshot_with_payloads: bind(include_str!("sql/load_snapshot_with_payloads.sql")),
            save_checkpoint: bind(include_str!("sql/save_checkpoint.sql")),
            load_checkpoint: bind(include_str!("sql/load_checkpoint.sql")),
            delete_checkpoint: bind(include_str!("sql/delete_checkpoint.sql")),
            park_event: bind(include_str!("sql/park_event.sql")),
            parked_events: bind(include_str!("sql/parked_events.sql")),
            unpark_event: bind(include_str!("sql/unpark_event.sql")),
            // Names a channel, not a table: no schema in it.
            notify_feed: bind(include_str!("sql/notify_feed.sql")),
        }
    }
}

/// The feed's page (`read_all.sql`) kept to the events recorded in a time
/// range (`recorded_within.sql`, parameters `$4` to `$7`): a ranged read is
/// the feed read, with one more condition on the rows it hands out.
fn within_range(read_all: &str) -> String {
    read_all.replace(
        FEED_PAGE_CONDITION,
        &format!("{FEED_PAGE_CONDITION}\n      AND ({{recorded_within}})"),
    )
}

/// The condition of `read_all.sql` that keeps its page below the horizon.
const FEED_PAGE_CONDITION: &str = "      AND transaction_id < (SELECT h FROM horizon)";

/// The parameters the append fragments (`stream_head.sql`,
/// `expected_version_holds.sql`, `share_locks.sql`) read, in the one-stream
/// appends: the stream id `$1`, the expected version `$2` and the lock keys
/// `$9`.
const ONE_STREAM_BINDINGS: [(&str, &str); 3] = [
    ("{stream_id}", "$1"),
    ("{expected}", "$2"),
    ("{lock_keys}", "$9"),
];

/// `template` with the append fragments inlined and what they read bound
/// to `bindings` (placeholder, SQL), rather than to
/// [`ONE_STREAM_BINDINGS`].
fn with_bindings(template: &str, bindings: &[(&str, &str)]) -> String {
    let mut sql = inline_append_fragments(template);
    for (placeholder, value) in bindings {
        sql = sql.replace(placeholder, value);
    }
    sql
}

/// `template` with the fragments of one-statement appends inlined.
fn inline_append_fragments(template: &str) -> String {
    template
        .replace("{stream_head}", include_str!("sql/stream_head.sql").trim())
        .replace("{share_locks}", include_str!("sql/share_locks.sql").trim())
        .replace(
            "{expected_version_holds}",
            include_str!("sql/expected_version_holds.sql").trim(),
        )
}

/// `template` with its placeholders filled in (see `sql/README.md`):
/// `{schema}` with `quoted`, the fragments with their files.
pub(crate) fn fill(template: &str, quoted: &str) -> Arc<str> {
    let mut sql = with_bindings(template, &ONE_STREAM_BINDINGS);
    sql = sql
        .replace(
            "{event_columns}",
            include_str!("sql/event_columns.sql").trim(),
        )
        .replace(
            "{payload_columns}",
            include_str!("sql/payload_columns.sql").trim(),
        )
        .replace(
            "{recorded_within}",
            include_str!("sql/recorded_within.sql").trim(),
        )
        .replace(
            "{feed_after_resume}",
            include_str!("sql/feed_after_resume.sql").trim(),
        )
        .replace(
            "{in_categories}",
            include_str!("sql/in_categories.sql").trim(),
        )
        .replace(
            "{feed_page_head}",
            include_str!("sql/feed_page_head.sql").trim(),
        )
        .replace(
            "{feed_page_pending}",
            include_str!("sql/feed_page_pending.sql").trim(),
        )
        .replace("{schema}", quoted);
    sql.into()
}

/// A statement for sqlx; cloning the `Arc` is cheap and sqlx caches the
/// prepared statement by its text.
pub(crate) fn statement(sql: &Arc<str>) -> SqlStr {
    use sqlx::SqlSafeStr;
    AssertSqlSafe(sql.clone()).into_sql_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let queries = Queries::new(&SchemaName::new("s1").unwrap());
        for sql in [
            &queries.append,
            &queries.append_one,
            &queries.append_batch,
            &queries.load_snapshot_with_payloads,
            &queries.append_single,
            &queries.read_stream_forward,
            &queries.read_stream_backward,
            &queries.read_payloads_forward,
            &queries.read_payloads_backward,
            &queries.read_all,
            &queries.read_feed,
            &queries.read_feed_tagged,
            &queries.read_all_between,
            &queries.head_position,
            &queries.stream_version,
            &queries.stream_versions_at,
            &queries.save_snapshot,
            &queries.load_snapshot,
            &queries.save_checkpoint,
            &queries.load_checkpoint,
            &queries.delete_checkpoint,
            &queries.park_event,
            &queries.parked_events,
            &queries.unpark_event,
        ] {
            assert!(!sql.contains('{'), "unfilled placeholder in {sql}");
            assert!(sql.contains("\"s1\"."), "no schema in {sql}");
        }
        assert!(
            queries
                .read_all_between
                .contains("recorded_at >= coalesce($4"),
            "the ranged feed read lost its condition on the time"
        );
    }
}
