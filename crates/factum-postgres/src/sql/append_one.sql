-- The fast path of an append: one stream, no idempotency key. The first
-- part (one of the bump_*.sql files) locks the stream's row, checks the
-- expected version and adds the number of events, returning the new version;
-- when the check fails it returns no row, and so no event is inserted and no
-- row comes back. $1 stream id, $2 expected version, $3.. the events' fields.
WITH stream AS (
    {bump}
), inserted AS (
    INSERT INTO {schema}.events (stream_id, stream_version, event_id, event_type,
                                 schema_version, payload_json, payload_bytes, metadata)
    SELECT $1, stream.version - cardinality($3::uuid[]) + u.ord, u.id, u.typ, u.sv,
           u.pj::jsonb, u.pb, u.meta::jsonb
    FROM stream,
         unnest($3::uuid[], $4::text[], $5::bigint[], $6::text[], $7::bytea[], $8::text[])
             WITH ORDINALITY AS u(id, typ, sv, pj, pb, meta, ord)
    ORDER BY u.ord
    RETURNING stream_version, transaction_id, seq
)
SELECT stream_version, transaction_id::text::bigint AS commit_id, seq
FROM inserted
ORDER BY seq
