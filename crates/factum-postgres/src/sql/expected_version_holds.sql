-- Whether an expected version (`$2` in the one-stream appends, each
-- append's own in append_batch.sql) holds for a stream whose highest stored
-- version is head.version (0: no stream). It is -1 for any, -2 for no
-- stream, -3 for an existing stream, n >= 0 for exactly version n.
CASE
    WHEN {expected}::bigint = -1 THEN true
    WHEN {expected}::bigint = -2 THEN head.version = 0
    WHEN {expected}::bigint = -3 THEN head.version > 0
    ELSE head.version = {expected}::bigint AND head.version > 0
END
