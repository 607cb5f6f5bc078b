-- What loading an aggregate starts with, in one statement: the snapshot of
-- stream ?1 when it has schema version ?2 and lies at or before version ?3,
-- then at most ?4 payloads of the events after it (after version 0 without
-- one) up to ?3. The first column tells the rows apart; the snapshot's row,
-- first, has no event type and carries its state in `payload` and its time
-- in the last column.
WITH snapshot AS (
    SELECT stream_version, schema_version, format, state, taken_at
    FROM factum_snapshots
    WHERE stream_id = ?1 AND schema_version = ?2 AND stream_version <= ?3
)
SELECT 1 AS is_snapshot, stream_version, NULL AS event_type, schema_version, format,
       state AS payload, taken_at
FROM snapshot
UNION ALL
SELECT * FROM (
    SELECT 0, stream_version, event_type, schema_version, format, payload, NULL
    FROM factum_events
    WHERE stream_id = ?1
      AND stream_version > coalesce((SELECT stream_version FROM snapshot), 0)
      AND stream_version <= ?3
    ORDER BY stream_version
    LIMIT ?4
)
ORDER BY 1 DESC, 2
