-- The global feed after position ?1, at most ?2 events, of those recorded
-- within a time range: ?3 its start (NULL: open) and ?4 whether the start
-- is included, ?5 its end (NULL: open) and ?6 whether the end is included.
-- Times are the RFC 3339 text they are stored as (UTC, years 0000 to 9999),
-- which sorts as the times do; written as two plain bounds, so the index
-- on recorded_at (migration 0003) can serve them.
SELECT position, stream_id, stream_version, event_id, event_type, schema_version,
       format, payload, metadata, idempotency_key, recorded_at, tags
FROM factum_events
WHERE position > ?1
  AND recorded_at >= COALESCE(?3, '') AND (?4 OR recorded_at > ?3)
  AND recorded_at <= COALESCE(?5, '~') AND (?6 OR recorded_at < ?5)
ORDER BY position ASC
LIMIT ?2
