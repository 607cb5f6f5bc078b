SELECT projection, commit_part, seq_part, stream_id, stream_version, event_type, error, attempts, parked_at
FROM {schema}.parked_events
WHERE projection = $1
ORDER BY commit_part, seq_part
