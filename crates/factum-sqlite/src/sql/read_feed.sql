-- The events of the feed in positions (?1, ?2] that the filter lets
-- through, at most ?3: ?4 a JSON array of event types (NULL: any type),
-- ?5 a JSON array of categories (NULL: any stream), a stream being in
-- category c when its id is c or starts with c and '-' (the ids between
-- c || '-' and c || '.', '.' following '-' bytewise). The window of
-- positions bounds what one read scans on the primary key, however few
-- events match. A filter on event types whose events are fewer than ?3 in
-- the window reads them through the type index instead
-- (read_feed_typed.sql); a denser one is found here soon.
SELECT position, stream_id, stream_version, event_id, event_type, schema_version,
       format, payload, metadata, idempotency_key, recorded_at, tags
FROM factum_events
WHERE position > ?1 AND position <= ?2
  AND (?4 IS NULL OR event_type IN (SELECT value FROM json_each(?4)))
  AND (?5 IS NULL OR EXISTS (
        SELECT 1 FROM json_each(?5) AS c
        WHERE factum_events.stream_id = c.value
           OR (factum_events.stream_id >= c.value || '-'
               AND factum_events.stream_id < c.value || '.')
      ))
ORDER BY position ASC
LIMIT ?3
