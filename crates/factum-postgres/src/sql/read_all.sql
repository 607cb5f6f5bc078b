-- One page of the global feed after position ($1, $2), at most $3 events.
-- Only rows below the feed's horizon (feed_horizon(): the oldest running
-- transaction that writes events) are final; `pending`
-- tells whether committed rows wait behind such a transaction (the caller
-- may wait for them). Both parts use the same statement snapshot, and the horizon is
-- computed once. Each part's index range starts at its first row: the page
-- at the reader's position, the pending check at the horizon (or the
-- position, if later), so neither scans the rows after its answer.
WITH horizon AS MATERIALIZED (
    SELECT {schema}.feed_horizon(pg_current_snapshot()) AS h
)
SELECT pending.any_pending, page.*
{feed_page_pending}
LEFT JOIN LATERAL (
    SELECT {event_columns}
    FROM {schema}.events
    WHERE (transaction_id, seq) > ($1::bigint::text::xid8, $2)
      AND transaction_id < (SELECT h FROM horizon)
    ORDER BY transaction_id, seq
    LIMIT $3
) AS page ON true
ORDER BY page.commit_id, page.seq
