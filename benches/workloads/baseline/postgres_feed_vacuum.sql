-- After W5 writes its feed: what autovacuum does to both sides' tables
-- after a bulk write (statistics for the planner, hint bits, the
-- visibility map), done at once so that no run catches it half way.
VACUUM (ANALYZE) {schema}.events, {schema}.plain_feed
