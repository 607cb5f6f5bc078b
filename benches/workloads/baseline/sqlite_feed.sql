-- The SQLite baseline's feed table, for W5 (a filtered subscription): the
-- plain events table as a user writes it to read across streams, with a
-- global position (the rowid), and the index a user adds to read one
-- event type in feed order.
CREATE TABLE plain_feed (
    position    INTEGER PRIMARY KEY,
    stream_id   TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    event_id    BLOB    NOT NULL,
    event_type  TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE INDEX plain_feed_type ON plain_feed (event_type, position);
