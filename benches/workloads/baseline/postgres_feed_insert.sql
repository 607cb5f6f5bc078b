-- Writes rows to the baseline's feed table in the order given, positions
-- numbered as they go: $1 to $6 the streams, versions, ids, types,
-- payloads and metadata of the rows, as arrays.
INSERT INTO {schema}.plain_feed (stream_id, version, event_id, event_type, payload, metadata)
SELECT u.stream, u.version, u.id, u.typ, u.payload::jsonb, u.meta::jsonb
FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[])
    WITH ORDINALITY AS u (stream, version, id, typ, payload, meta, ord)
ORDER BY u.ord
