-- The PostgreSQL baseline's feed table, for W5 (a filtered subscription):
-- the plain events table as a user writes it to read across streams, with
-- a global position, and the index a user adds to read one event type in
-- feed order. {schema} is filled in by the runner
-- (benches/workloads/baseline/postgres.rs), after plain_tables.sql.
CREATE TABLE {schema}.plain_feed (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    LIKE {schema}.plain_events INCLUDING DEFAULTS,
    UNIQUE (stream_id, version)
);
CREATE INDEX plain_feed_type ON {schema}.plain_feed (event_type, position);
