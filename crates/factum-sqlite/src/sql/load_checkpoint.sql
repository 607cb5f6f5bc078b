SELECT commit_part, sequence FROM factum_checkpoints WHERE name = ?1
