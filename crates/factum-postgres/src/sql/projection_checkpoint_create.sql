-- A projection's first checkpoint: written only if it has none yet (a
-- concurrent runner that wrote one first wins; this one gets no row).
INSERT INTO {schema}.checkpoints (name, commit_part, seq_part)
VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING
RETURNING 1
