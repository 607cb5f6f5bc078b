-- The fastest path: one event, one stream, no idempotency key. The same as
-- append_one.sql with the event's fields as plain parameters.
-- $1 stream id, $2 expected version, $3..$8 the event's fields, $9 the
-- advisory lock keys the append shares (src/locks.rs, migration 0010),
-- taken before the row is written (a one-time filter: it has no column).
INSERT INTO {schema}.events (stream_id, stream_version, event_id, event_type,
                             schema_version, payload_json, payload_bytes, metadata, recorded_at)
SELECT $1, head.version + 1, $3, $4, $5, $6::text::jsonb, $7, $8::text::jsonb,
       head.recorded_at
FROM {stream_head}
WHERE {share_locks}
  AND {expected_version_holds}
RETURNING stream_version, transaction_id AS commit_id, seq
