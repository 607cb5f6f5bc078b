-- Cheaper appends (benches/README.md has the figures). Like 0001 and 0002,
-- every object is unqualified, in the first schema of search_path.

-- Feed notifications move out of the database: the store that appended
-- sends them after the commit, at most one per 50 ms per store and always
-- after the last append of a burst, so the trigger's per-statement work and
-- its session setting leave the write path.
DROP TRIGGER events_notify_feed ON events;
DROP FUNCTION notify_feed();

-- Each session takes sequence numbers 64 at a time instead of touching the
-- shared sequence for every event. The feed orders by (transaction_id, seq)
-- and one transaction runs in one session, so its events still get rising
-- numbers; numbers of different sessions interleave, which positions never
-- relied on.
ALTER TABLE events ALTER COLUMN seq SET CACHE 64;
