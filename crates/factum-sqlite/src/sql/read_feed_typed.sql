-- As read_feed.sql, for a filter with event types (?4, a JSON array)
-- whose events in the window (?1, ?2] are fewer than the page (see
-- count_typed.sql): they are read through the index on event_type, one
-- range of it per type (the index holds the rowid, which is the
-- position, after the type), and the events of other types are not read
-- at all; the categories (?5, NULL: any stream) are checked on each.
SELECT position, stream_id, stream_version, event_id, event_type, schema_version,
       format, payload, metadata, idempotency_key, recorded_at, tags
FROM factum_events INDEXED BY factum_events_event_type
WHERE event_type IN (SELECT value FROM json_each(?4))
  AND position > ?1 AND position <= ?2
  AND (?5 IS NULL OR EXISTS (
        SELECT 1 FROM json_each(?5) AS c
        WHERE factum_events.stream_id = c.value
           OR (factum_events.stream_id >= c.value || '-'
               AND factum_events.stream_id < c.value || '.')
      ))
ORDER BY position ASC
LIMIT ?3
