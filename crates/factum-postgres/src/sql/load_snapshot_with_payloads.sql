-- What loading an aggregate starts with, in one round trip: the snapshot
-- of stream $1 when it has schema version $2 and lies at or before version
-- $3, then at most $4 payloads of the events after it (after version 0
-- without one) up to $3. The first column tells the rows apart; the
-- snapshot's row, first, carries its format in `event_type`, its state in
-- `payload_bytes` and its time in `taken_at`.
WITH snapshot AS (
    SELECT stream_version, schema_version, format, state, taken_at
    FROM {schema}.snapshots
    WHERE stream_id = $1 AND schema_version = $2 AND stream_version <= $3
)
SELECT true AS is_snapshot, stream_version, format AS event_type, schema_version,
       NULL::text AS payload_json, state AS payload_bytes, taken_at
FROM snapshot
UNION ALL
(SELECT false, {payload_columns}, NULL::timestamptz
 FROM {schema}.events
 WHERE stream_id = $1
   AND stream_version > coalesce((SELECT stream_version FROM snapshot), 0)
   AND stream_version <= $3
 ORDER BY stream_version
 LIMIT $4)
ORDER BY 1 DESC, 2
