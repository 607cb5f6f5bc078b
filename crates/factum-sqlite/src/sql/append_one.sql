-- Appends up to 16 key-less events to one stream in one statement, only if
-- the stream's version meets the expectation; run under the write lock.
-- ?1: stream id; ?2: expectation (0 any, 1 no stream, 2 stream exists,
-- 3 exact); ?3: the exact version. The rows placeholder below becomes one
-- tuple per event:
-- (ordinal, event_id, event_type, schema_version, format, payload,
-- metadata, recorded_at), bound from ?4 on (see sql.rs).
-- Returns nothing when the expectation fails. The events are recorded at
-- the bound time, or at the feed's newest event's if that is later.
WITH state AS (
    SELECT
        (SELECT MAX(stream_version) FROM factum_events WHERE stream_id = ?1) AS version,
        (SELECT COALESCE(MAX(position), 0) FROM factum_events) AS head,
        (SELECT recorded_at FROM factum_events ORDER BY position DESC LIMIT 1) AS newest_at,
        ?2 AS mode,
        ?3 AS exact
)
INSERT INTO factum_events (
    position, stream_id, stream_version, event_id, event_type, schema_version,
    format, payload, metadata, idempotency_key, recorded_at
)
SELECT
    state.head + new.column1,
    ?1,
    COALESCE(state.version, 0) + new.column1,
    new.column2, new.column3, new.column4, new.column5, new.column6, new.column7,
    NULL,
    -- Never before the feed's newest event (should the clock have stepped
    -- back): the RFC 3339 text of the times sorts as the times do.
    MAX(new.column8, COALESCE(state.newest_at, ''))
FROM state, (VALUES
{rows}
) AS new
WHERE CASE state.mode
    WHEN 0 THEN 1
    WHEN 1 THEN state.version IS NULL
    WHEN 2 THEN state.version IS NOT NULL
    ELSE state.version = state.exact
END
RETURNING position, stream_version
