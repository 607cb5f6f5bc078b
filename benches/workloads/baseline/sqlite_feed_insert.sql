-- Writes one row to the baseline's feed table, its position the next
-- rowid: stream, version, id, type, payload, metadata, recorded time.
INSERT INTO plain_feed (stream_id, version, event_id, event_type, payload, metadata, recorded_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
