SELECT commit_part, seq_part FROM {schema}.checkpoints WHERE name = $1
