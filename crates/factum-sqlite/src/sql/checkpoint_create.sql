INSERT INTO factum_checkpoints (name, commit_part, sequence)
VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO NOTHING
RETURNING name
