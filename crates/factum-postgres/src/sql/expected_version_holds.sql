-- Whether the expected version $2 holds for a stream whose highest stored
-- version is head.version (0: no stream). $2 is -1 for any, -2 for no
-- stream, -3 for an existing stream, n >= 0 for exactly version n.
CASE
    WHEN $2::bigint = -1 THEN true
    WHEN $2::bigint = -2 THEN head.version = 0
    WHEN $2::bigint = -3 THEN head.version > 0
    ELSE head.version = $2::bigint AND head.version > 0
END
