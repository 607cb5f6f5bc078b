DELETE FROM factum_checkpoints WHERE name = ?1
