-- read_feed.sql for a filter with tags: the events in positions (?1, ?2]
-- that carry every tag of ?6 (a JSON array, not empty) and pass the rest of
-- the filter (?4 event types, ?5 categories, as in read_feed.sql), at most
-- ?3. The events carrying the first tag are found in feed order on
-- factum_event_tags' primary key, so the read looks at those events only,
-- however long the feed.
SELECT e.position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
       e.format, e.payload, e.metadata, e.idempotency_key, e.recorded_at, e.tags
FROM factum_event_tags AS et
JOIN factum_events AS e ON e.position = et.position
WHERE et.tag = json_extract(?6, '$[0]') AND et.position > ?1 AND et.position <= ?2
  AND (?4 IS NULL OR e.event_type IN (SELECT value FROM json_each(?4)))
  AND (?5 IS NULL OR EXISTS (
        SELECT 1 FROM json_each(?5) AS c
        WHERE e.stream_id = c.value
           OR (e.stream_id >= c.value || '-' AND e.stream_id < c.value || '.')
      ))
  AND NOT EXISTS (
        SELECT 1 FROM json_each(?6) AS t
        WHERE NOT EXISTS (
            SELECT 1 FROM factum_event_tags AS other
            WHERE other.tag = t.value AND other.position = e.position
        )
      )
ORDER BY et.position ASC
LIMIT ?3
