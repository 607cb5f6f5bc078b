-- The stored events carrying any idempotency key of the JSON array ?1.
SELECT e.idempotency_key, e.stream_id, e.stream_version, e.position
FROM json_each(?1) AS k
JOIN factum_events AS e ON e.idempotency_key = k.value
