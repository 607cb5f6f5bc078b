INSERT INTO factum_parked_events
    (projection, commit_part, sequence, stream_id, stream_version, event_type, error, attempts, parked_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (projection, commit_part, sequence) DO UPDATE SET
    error = excluded.error,
    attempts = excluded.attempts,
    parked_at = excluded.parked_at
