-- One page of the baseline's feed through a filter, as a user writes it:
-- at most $3 events of type $1 after position $2, by position (on the
-- index on (event_type, position)).
SELECT position, payload::text
FROM {schema}.plain_feed
WHERE event_type = $1 AND position > $2
ORDER BY position
LIMIT $3
