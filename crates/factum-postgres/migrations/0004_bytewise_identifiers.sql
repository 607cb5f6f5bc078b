-- Identifiers compare byte by byte. Like 0001 to 0003, every object is
-- unqualified, in the first schema of search_path.
--
-- Stream ids, event types, idempotency keys, projection names and lease
-- holders are names, not prose: no query sorts them for people, and
-- equality is the same under every deterministic collation. Under the
-- database's collation (C.UTF-8 or en_US.UTF-8, say) every comparison in
-- their indexes copies both strings and calls strcoll; under "C" it is a
-- memcmp. An append descends three such indexes per event (the stream key,
-- the event-type index and, with a key, the idempotency index), and a stream
-- read, a snapshot load and a checkpoint write one each; benches/README.md
-- has the figures.
--
-- PostgreSQL keeps the rows as they are (the type stays text) and rebuilds
-- the indexes on these columns, holding the tables locked meanwhile.
ALTER TABLE events
    ALTER COLUMN stream_id       TYPE text COLLATE "C",
    ALTER COLUMN event_type      TYPE text COLLATE "C",
    ALTER COLUMN idempotency_key TYPE text COLLATE "C";

ALTER TABLE snapshots
    ALTER COLUMN stream_id TYPE text COLLATE "C";

ALTER TABLE checkpoints
    ALTER COLUMN name TYPE text COLLATE "C";

ALTER TABLE projection_leases
    ALTER COLUMN projection TYPE text COLLATE "C",
    ALTER COLUMN holder     TYPE text COLLATE "C";
