INSERT INTO {schema}.snapshots AS s
    (stream_id, stream_version, schema_version, format, state, taken_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (stream_id) DO UPDATE
SET stream_version = EXCLUDED.stream_version,
    schema_version = EXCLUDED.schema_version,
    format = EXCLUDED.format,
    state = EXCLUDED.state,
    taken_at = EXCLUDED.taken_at
WHERE s.stream_version <= EXCLUDED.stream_version
