INSERT INTO {schema}.parked_events
    (projection, commit_part, seq_part, stream_id, stream_version, event_type, error, attempts, parked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (projection, commit_part, seq_part) DO UPDATE
SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, parked_at = EXCLUDED.parked_at
