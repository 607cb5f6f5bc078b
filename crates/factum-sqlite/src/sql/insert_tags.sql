-- One row of factum_event_tags per tag of each event stored after
-- position ?1 (the feed's head before this append): run once by an append
-- whose events carry tags, in its transaction, after its events.
INSERT INTO factum_event_tags (tag, position)
SELECT t.value, e.position
FROM factum_events AS e, json_each(e.tags) AS t
WHERE e.position > ?1 AND e.tags IS NOT NULL
