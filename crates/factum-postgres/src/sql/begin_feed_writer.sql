-- Makes the transaction just begun an event writer before it writes
-- anything (see begin_feed_writer() in migration 0005).
SELECT {schema}.begin_feed_writer()
