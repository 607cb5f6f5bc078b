-- Moves a projection's checkpoint from ($4, $5) to ($2, $3): no row comes
-- back when it is no longer at ($4, $5) (another runner or a rebuild moved
-- it). The row stays locked until the transaction ends.
UPDATE {schema}.checkpoints
SET commit_part = $2, seq_part = $3, updated_at = now()
WHERE name = $1 AND commit_part = $4 AND seq_part = $5
RETURNING 1
