-- Tags: labels an event carries beyond its stream (`user:42`), for queries
-- across streams and conditional appends (the Dynamic Consistency
-- Boundary model). `tags` on the event is what reads hand back (a JSON
-- array of strings, NULL for none); `factum_event_tags` holds one row per
-- tag and event, so that a query finds the events carrying a tag, in feed
-- order, on its primary key (src/sql/read_feed_tagged.sql,
-- condition_conflict.sql). Both are written in the append's transaction.
ALTER TABLE factum_events ADD COLUMN tags TEXT;

CREATE TABLE factum_event_tags (
    tag      TEXT    NOT NULL,
    position INTEGER NOT NULL REFERENCES factum_events (position),
    PRIMARY KEY (tag, position)
) WITHOUT ROWID;

-- Immutable like the events they index.
CREATE TRIGGER factum_event_tags_no_update BEFORE UPDATE ON factum_event_tags
BEGIN
    SELECT RAISE(ABORT, 'factum events are immutable: UPDATE is not allowed');
END;

CREATE TRIGGER factum_event_tags_no_delete BEFORE DELETE ON factum_event_tags
BEGIN
    SELECT RAISE(ABORT, 'factum events are immutable: DELETE is not allowed');
END;
