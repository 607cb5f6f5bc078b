-- Whether an event's recorded_at lies in a time range: $4 its start (NULL:
-- open) and $5 whether the start is included, $6 its end (NULL: open) and
-- $7 whether the end is included. Written as two plain bounds, so the
-- index on recorded_at (migration 0009) can serve them.
recorded_at >= coalesce($4::timestamptz, '-infinity')
AND ($5::boolean OR recorded_at > $4::timestamptz)
AND recorded_at <= coalesce($6::timestamptz, 'infinity')
AND ($7::boolean OR recorded_at < $6::timestamptz)
