-- Several callers' appends in one statement, hence one transaction and one
-- commit (the committer of store/commit.rs). Each append is one stream
-- (all different) without idempotency keys or tags, as on the fast path
-- (append_one.sql), and keeps its own outcome: an append whose expected
-- version does not hold inserts nothing and returns no row, while the
-- others are written. Should a writer elsewhere store one of these
-- versions first, the primary key fails the whole statement, and each
-- append is tried again alone.
-- $1 the appends' stream ids, $2 their expected versions (codes as in
-- expected_version_holds.sql), $3 each event's append (1-based, into $1),
-- $4..$9 the events' fields, in order, $10 the advisory lock keys of all
-- the events (src/locks.rs, migration 0010), taken before any row is
-- written (a one-time filter).
WITH appends AS (
    SELECT a.stream_id, a.expected, a.append_no
    FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS a (stream_id, expected, append_no)
), heads AS (
    SELECT appends.append_no, appends.stream_id, head.version, head.recorded_at
    FROM appends
    CROSS JOIN LATERAL {stream_head}
    WHERE {expected_version_holds}
), new_events AS (
    SELECT u.*, row_number() OVER (PARTITION BY u.append_no ORDER BY u.ord) AS n
    FROM unnest($3::bigint[], $4::uuid[], $5::text[], $6::bigint[], $7::text[], $8::bytea[],
                $9::text[])
         WITH ORDINALITY AS u (append_no, id, typ, sv, pj, pb, meta, ord)
)
INSERT INTO {schema}.events (stream_id, stream_version, event_id, event_type,
                             schema_version, payload_json, payload_bytes, metadata, recorded_at)
SELECT heads.stream_id, heads.version + e.n, e.id, e.typ, e.sv, e.pj::jsonb, e.pb,
       e.meta::jsonb, heads.recorded_at
FROM new_events AS e
JOIN heads ON heads.append_no = e.append_no
WHERE {share_locks}
ORDER BY e.ord
RETURNING stream_id, stream_version, transaction_id AS commit_id, seq
