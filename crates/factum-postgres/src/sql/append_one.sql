-- The fast path of an append: one stream, no idempotency key, one plain
-- INSERT. The stream's version is its highest stored version; the events get
-- the next ones, provided the expected version ($2: -1 any, -2 no stream,
-- -3 stream exists, n >= 0 exactly n) holds. When it does not, no row is
-- inserted and none comes back. Should a concurrent append store one of
-- these versions first, the primary key (stream_id, stream_version) fails
-- this statement, and the caller tries again.
-- The events' recorded time is taken with the version (stream_head.sql).
-- $1 stream id, $2 expected version, $3..$8 the events' fields, in order,
-- $9 the advisory lock keys the append shares (src/locks.rs, migration
-- 0010), taken before any row is written (a one-time filter).
INSERT INTO {schema}.events (stream_id, stream_version, event_id, event_type,
                             schema_version, payload_json, payload_bytes, metadata, recorded_at)
SELECT $1, head.version + u.ord, u.id, u.typ, u.sv, u.pj::jsonb, u.pb, u.meta::jsonb,
       head.recorded_at
FROM {stream_head},
     unnest($3::uuid[], $4::text[], $5::bigint[], $6::text[], $7::bytea[], $8::text[])
         WITH ORDINALITY AS u(id, typ, sv, pj, pb, meta, ord)
WHERE {share_locks}
  AND {expected_version_holds}
ORDER BY u.ord
RETURNING stream_version, transaction_id AS commit_id, seq
