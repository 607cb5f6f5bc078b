-- The newest final position, and whether committed rows wait behind an
-- older running transaction (see read_all.sql).
SELECT pending.any_pending, head.commit_id, head.seq
FROM (
    SELECT EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
    ) AS any_pending
) AS pending
LEFT JOIN LATERAL (
    SELECT transaction_id AS commit_id, seq
    FROM {schema}.events
    WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY transaction_id DESC, seq DESC
    LIMIT 1
) AS head ON true
