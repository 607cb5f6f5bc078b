-- One page of the global feed after position ($1, $2), at most $3 events,
-- through a filter: $4 the event types (NULL: any type), $5 the categories
-- (NULL: any stream), a stream being in category c when its id is c or
-- starts with c and '-' (the ids between c || '-' and c || '.', bytewise:
-- identifiers compare in the "C" collation). As `read_all.sql`, only rows
-- below the feed's horizon are handed out, and `pending` tells whether
-- committed rows wait behind it; the horizon itself comes back too, since
-- every row below it has been looked at when the page is short, up to
-- the newest event below it, whose position comes back too (`head_*`):
-- how far a short page looked. (Not the horizon itself: it moves with
-- every transaction, a reader's own checkpoint writes included, while no
-- event is added.)
WITH horizon AS MATERIALIZED (
    SELECT {schema}.feed_horizon(pg_current_snapshot()) AS h
), head AS MATERIALIZED (
    SELECT transaction_id::text::bigint AS head_commit, seq AS head_seq
    FROM {schema}.events
    WHERE transaction_id < (SELECT h FROM horizon)
    ORDER BY transaction_id DESC, seq DESC
    LIMIT 1
)
SELECT pending.any_pending,
       (SELECT head_commit FROM head) AS head_commit,
       (SELECT head_seq FROM head) AS head_seq,
       page.*
FROM (
    SELECT (
        SELECT transaction_id FROM {schema}.events
        WHERE (transaction_id, seq) > (
            greatest((SELECT h FROM horizon), $1::bigint::text::xid8),
            CASE WHEN (SELECT h FROM horizon) > $1::bigint::text::xid8 THEN -1 ELSE $2 END
        )
        ORDER BY transaction_id, seq
        LIMIT 1
    ) IS NOT NULL AS any_pending
) AS pending
LEFT JOIN LATERAL (
    SELECT {event_columns}
    FROM {schema}.events
    WHERE (transaction_id, seq) > ($1::bigint::text::xid8, $2)
      AND transaction_id < (SELECT h FROM horizon)
      AND ($4::text[] IS NULL OR event_type = ANY ($4::text[]))
      AND ($5::text[] IS NULL OR EXISTS (
            SELECT 1 FROM unnest($5::text[]) AS c (category)
            WHERE stream_id = c.category
               OR (stream_id >= c.category || '-' AND stream_id < c.category || '.')
          ))
    ORDER BY transaction_id, seq
    LIMIT $3
) AS page ON true
ORDER BY page.commit_id, page.seq
