-- What table_cost.sh takes away from factum's events table, one part per
-- schema (factum_tc_full keeps the migrations' table as it is). Run by
-- table_cost.sh after it has applied migrations/postgres/*.sql to each
-- factum_tc_* schema but factum_tc_plain, which gets the runner's plain
-- tables (benches/workloads/baseline/plain_tables.sql).

-- Rows take their writer's own transaction id, as before migration 0006:
-- no commit_id() default, no trigger placing a writer's commit id.
ALTER TABLE factum_tc_own_commit_id.events
    ALTER COLUMN transaction_id SET DEFAULT pg_current_xact_id();
DROP TRIGGER events_place_commit_id ON factum_tc_own_commit_id.events;

DROP INDEX factum_tc_no_type_index.events_event_type_idx;

DROP INDEX factum_tc_no_position_index.events_position_idx;

ALTER TABLE factum_tc_no_checks.events
    DROP CONSTRAINT events_one_payload,
    DROP CONSTRAINT events_stream_version_check;

-- Only what a plain table has: the (stream, version) key.
DROP INDEX factum_tc_bare.events_event_type_idx;
DROP INDEX factum_tc_bare.events_position_idx;
DROP INDEX factum_tc_bare.events_idempotency_key_idx;
ALTER TABLE factum_tc_bare.events
    DROP CONSTRAINT events_one_payload,
    DROP CONSTRAINT events_stream_version_check;
