-- read_all.sql as it was before migration 0005 (commit 09e35bf), for the
-- before/after figures of benches/catchup: its pending check scanned the
-- position index from the reader's position to the end.
-- One page of the global feed after position ($1, $2), at most $3 events.
-- Only rows written by transactions older than every transaction still
-- running are final; `pending` tells whether committed rows wait behind such
-- a transaction (the caller may wait for them). Both parts are computed from
-- the same statement snapshot.
SELECT pending.any_pending, page.*
FROM (
    SELECT EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
          AND (transaction_id, seq) > ($1::bigint::text::xid8, $2)
    ) AS any_pending
) AS pending
LEFT JOIN LATERAL (
    SELECT {event_columns}
    FROM {schema}.events
    WHERE (transaction_id, seq) > ($1::bigint::text::xid8, $2)
      AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY transaction_id, seq
    LIMIT $3
) AS page ON true
ORDER BY page.commit_id, page.seq
