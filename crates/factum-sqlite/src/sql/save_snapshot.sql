-- Keeps the snapshot of the higher version; an equal version replaces.
INSERT INTO factum_snapshots (stream_id, stream_version, schema_version, format, state, taken_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (stream_id) DO UPDATE SET
    stream_version = excluded.stream_version,
    schema_version = excluded.schema_version,
    format = excluded.format,
    state = excluded.state,
    taken_at = excluded.taken_at
WHERE excluded.stream_version >= factum_snapshots.stream_version
