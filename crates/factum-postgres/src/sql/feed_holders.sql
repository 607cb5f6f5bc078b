-- What holds the feed back: the transactions of feed_writers() (running
-- transactions that write events, or writers that ended an instant ago)
-- at or after whose horizon committed events wait, oldest first, with
-- what pg_stat_activity says of their sessions (NULL for a prepared
-- transaction, an ended one, or a session the caller may not see).
SELECT w.transaction_id, w.pid, a.xact_start, a.state, a.application_name
FROM {schema}.feed_writers(pg_current_snapshot()) AS w
LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid = w.pid
WHERE w.horizon < (SELECT max(transaction_id) FROM {schema}.events)
ORDER BY w.transaction_id
