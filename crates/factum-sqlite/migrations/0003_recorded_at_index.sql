-- Ranged reads of the feed by recorded time (src/sql/read_all_between.sql).
-- recorded_at is RFC 3339 text in UTC, which sorts as the times do.
CREATE INDEX factum_events_recorded_at ON factum_events (recorded_at);
