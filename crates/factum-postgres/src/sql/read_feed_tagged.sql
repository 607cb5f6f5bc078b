-- read_feed.sql for a filter with tags ($6, a text array, not empty): the
-- same page, horizon, pending check and head, but the page's rows are
-- found on event_tags' primary key (tag, transaction_id, seq), in feed
-- order, among the events carrying the first tag (migration 0010), and
-- kept to those carrying all of them and passing the types ($4) and
-- categories ($5) as in read_feed.sql. It looks only at the events
-- carrying the first tag, however long the feed.
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
    FROM {schema}.event_tags AS tagged
    JOIN {schema}.events USING (transaction_id, seq)
    WHERE tagged.tag = ($6::text[])[1]
      AND (tagged.transaction_id, tagged.seq) > ($1::bigint::text::xid8, $2)
      AND tagged.transaction_id < (SELECT h FROM horizon)
      AND tags @> $6::text[]
      AND ($4::text[] IS NULL OR event_type = ANY ($4::text[]))
      AND ($5::text[] IS NULL OR EXISTS (
            SELECT 1 FROM unnest($5::text[]) AS c (category)
            WHERE stream_id = c.category
               OR (stream_id >= c.category || '-' AND stream_id < c.category || '.')
          ))
    ORDER BY tagged.transaction_id, tagged.seq
    LIMIT $3
) AS page ON true
ORDER BY page.commit_id, page.seq
