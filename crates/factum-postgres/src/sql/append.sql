SELECT event_no, is_duplicate, original_stream, stream_version, commit_id, seq, current_version
FROM {schema}.append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                          $12, $13, $14, $15, $16::jsonb, $17, $18)
