-- The version of each stream of the array $1, in the order given, as of the
-- feed position ($2, $3): that of its newest event at or before it (NULL for
-- none). The position is final (read below the feed's horizon), so no row
-- at or before it can still appear. Within a stream positions grow with
-- versions, so each lookup walks the primary key from the stream's newest
-- event down to its first row at or before the position: usually the first.
SELECT (
    SELECT e.stream_version
    FROM {schema}.events AS e
    WHERE e.stream_id = s.stream_id
      AND (e.transaction_id, e.seq) <= ($2::bigint::text::xid8, $3)
    ORDER BY e.stream_version DESC
    LIMIT 1
) AS version
FROM unnest($1::text[]) WITH ORDINALITY AS s (stream_id, n)
ORDER BY s.n
