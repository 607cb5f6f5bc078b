-- Fragment of the filtered feed's pages (read_feed.sql,
-- read_feed_tagged.sql): the CTEs `horizon` (the feed's horizon, computed
-- once) and `head` (the newest event below it: how far a short page
-- looked).
horizon AS MATERIALIZED (
    SELECT {schema}.feed_horizon(pg_current_snapshot()) AS h
), head AS MATERIALIZED (
    SELECT transaction_id::text::bigint AS head_commit, seq AS head_seq
    FROM {schema}.events
    WHERE transaction_id < (SELECT h FROM horizon)
    ORDER BY transaction_id DESC, seq DESC
    LIMIT 1
)
