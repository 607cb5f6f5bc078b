-- The head of a stream (`$1` in the one-stream appends, each append's
-- stream in append_batch.sql) when an append writes: `head.version`, its highest
-- stored version (0: no stream), and `head.recorded_at`, the time the new
-- events are recorded at: the clock's now, read with the version (after
-- the stream's lock where there is one), never before the stream's newest
-- event should the clock have stepped back. So within a stream a later
-- version never carries an earlier time (migration 0009).
(
    SELECT coalesce(newest.stream_version, 0) AS version,
           greatest(clock_timestamp(), newest.recorded_at) AS recorded_at
    FROM (VALUES (1)) AS one (n)
    LEFT JOIN LATERAL (
        SELECT stream_version, recorded_at
        FROM {schema}.events
        WHERE stream_id = {stream_id}
        ORDER BY stream_version DESC
        LIMIT 1
    ) AS newest ON true
) AS head
