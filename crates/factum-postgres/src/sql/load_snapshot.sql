SELECT stream_version, schema_version, format, state, taken_at
FROM {schema}.snapshots
WHERE stream_id = $1
