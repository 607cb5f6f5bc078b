-- Fragment of the feed's pages (read_all.sql, read_feed.sql,
-- read_feed_tagged.sql): the one-row source `pending`, whether committed
-- rows after the reader's position ($1, $2) wait behind the horizon. The
-- first row past both, if any: ordered, so that the planner walks the
-- index (an EXISTS might scan the table for a row that is not there).
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
