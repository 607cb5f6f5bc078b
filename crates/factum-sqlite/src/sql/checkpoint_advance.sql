UPDATE factum_checkpoints
SET commit_part = ?2, sequence = ?3
WHERE name = ?1 AND commit_part = ?4 AND sequence = ?5
RETURNING name
