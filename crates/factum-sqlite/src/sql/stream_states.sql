-- Current version of each stream named in the JSON array ?1, in the order
-- given, plus the head of the feed and its newest event's recorded time
-- (new events are never recorded before it). Run under the write lock by
-- appends.
SELECT
    s.value AS stream_id,
    (SELECT MAX(e.stream_version)
       FROM factum_events e
      WHERE e.stream_id = s.value) AS version,
    (SELECT MAX(position) FROM factum_events) AS head,
    (SELECT recorded_at FROM factum_events ORDER BY position DESC LIMIT 1) AS newest_recorded_at
FROM json_each(?1) AS s
ORDER BY s.key
