-- Announces new events to the feed listeners on channel $1 (see
-- src/announce.rs). Inside a transaction, PostgreSQL delivers it on commit.
SELECT pg_notify($1, '')
