-- One page of a stream, newest first: versions ?3 down to ?2, at most ?4 events.
SELECT position, stream_id, stream_version, event_id, event_type, schema_version,
       format, payload, metadata, idempotency_key, recorded_at, tags
FROM factum_events
WHERE stream_id = ?1 AND stream_version >= ?2 AND stream_version <= ?3
ORDER BY stream_version DESC
LIMIT ?4
