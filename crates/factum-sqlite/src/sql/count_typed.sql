-- How many events in positions (?1, ?2] have one of the event types of
-- the JSON array ?3, counted up to ?4: whether a filtered read of that
-- window finds its page among few events (read_feed_typed.sql) or soon
-- on the primary key (read_feed.sql). The index on event_type holds the
-- rowid, which is the position, after it: each type's events in the
-- window are one range of it, and the count reads the index alone.
SELECT count(*)
FROM (SELECT 1
      FROM factum_events INDEXED BY factum_events_event_type
      WHERE event_type IN (SELECT value FROM json_each(?3))
        AND position > ?1 AND position <= ?2
      LIMIT ?4)
