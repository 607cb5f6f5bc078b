-- Plain keyset pagination of the same table on the same index: no horizon,
-- no waiting, the floor of any feed on this table. $1 and $2 the position
-- after which to read, as text and bigint.
SELECT events.transaction_id::text::bigint AS commit_id, events.seq, events.stream_id,
       events.stream_version, events.event_id, events.event_type,
       events.payload_json::text, events.metadata::text, events.recorded_at
FROM {schema}.events
WHERE (events.transaction_id, events.seq) > ($1::text::xid8, $2)
ORDER BY events.transaction_id, events.seq
LIMIT 1000
