DELETE FROM {schema}.parked_events
WHERE projection = $1 AND commit_part = $2 AND seq_part = $3
