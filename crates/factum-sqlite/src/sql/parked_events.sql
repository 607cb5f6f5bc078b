SELECT projection, commit_part, sequence, stream_id, stream_version, event_type, error, attempts, parked_at
FROM factum_parked_events
WHERE projection = ?1
ORDER BY commit_part, sequence
