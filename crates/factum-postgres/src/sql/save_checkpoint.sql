INSERT INTO {schema}.checkpoints AS c (name, commit_part, seq_part)
VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE
SET commit_part = EXCLUDED.commit_part, seq_part = EXCLUDED.seq_part, updated_at = now()
