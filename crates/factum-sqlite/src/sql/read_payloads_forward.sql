-- What folding needs of one page of a stream, oldest first: versions ?2 to
-- ?3, at most ?4 events (read_stream_forward.sql with five columns).
SELECT stream_version, event_type, schema_version, format, payload
FROM factum_events
WHERE stream_id = ?1 AND stream_version >= ?2 AND stream_version <= ?3
ORDER BY stream_version ASC
LIMIT ?4
