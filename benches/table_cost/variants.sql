-- The tables table_cost.sh measures, each in a schema of its own: the
-- baseline's plain table, factum's events table as the migrations make it,
-- and that table with one part taken away at a time. Run by table_cost.sh
-- after it has applied migrations/postgres/*.sql to each factum_tc_* schema.

CREATE TABLE factum_tc_plain.plain_events (
    stream_id   text        NOT NULL,
    version     bigint      NOT NULL,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    payload     jsonb       NOT NULL,
    metadata    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version)
);

-- factum_tc_full: the migrations' table, unchanged but for the trigger
-- that forbids TRUNCATE (each round starts from an empty table; the
-- trigger fires on TRUNCATE only, never on INSERT).
ALTER TABLE factum_tc_full.events DISABLE TRIGGER events_are_not_truncated;
ALTER TABLE factum_tc_no_type_index.events DISABLE TRIGGER events_are_not_truncated;
ALTER TABLE factum_tc_no_position_index.events DISABLE TRIGGER events_are_not_truncated;
ALTER TABLE factum_tc_no_checks.events DISABLE TRIGGER events_are_not_truncated;
ALTER TABLE factum_tc_bare.events DISABLE TRIGGER events_are_not_truncated;

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
