-- The global feed after position ?1, at most ?2 events.
SELECT position, stream_id, stream_version, event_id, event_type, schema_version,
       format, payload, metadata, idempotency_key, recorded_at, tags
FROM factum_events
WHERE position > ?1
ORDER BY position ASC
LIMIT ?2
