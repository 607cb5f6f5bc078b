-- The newest final position (below the feed's horizon, see read_all.sql),
-- and whether committed rows wait behind a running transaction that
-- writes events. Both index ranges start at the horizon.
WITH horizon AS MATERIALIZED (
    SELECT {schema}.feed_horizon(pg_current_snapshot()) AS h
)
SELECT pending.any_pending, head.commit_id, head.seq
FROM (
    -- The first row at or past the horizon, if any: ordered, so that the
    -- planner walks the index from the horizon (an EXISTS might scan the
    -- table for a row that is not there).
    SELECT (
        SELECT transaction_id FROM {schema}.events
        WHERE transaction_id >= (SELECT h FROM horizon)
        ORDER BY transaction_id, seq
        LIMIT 1
    ) IS NOT NULL AS any_pending
) AS pending
LEFT JOIN LATERAL (
    SELECT transaction_id AS commit_id, seq
    FROM {schema}.events
    WHERE transaction_id < (SELECT h FROM horizon)
    ORDER BY transaction_id DESC, seq DESC
    LIMIT 1
) AS head ON true
