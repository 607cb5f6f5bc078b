-- The event `e` is in one of the categories $5 (NULL: any stream): its
-- stream id is the category, or starts with it and '-' (the ids between
-- c || '-' and c || '.', bytewise: identifiers compare in the "C"
-- collation).
($5::text[] IS NULL OR EXISTS (
    SELECT 1 FROM unnest($5::text[]) AS c (category)
    WHERE e.stream_id = c.category
       OR (e.stream_id >= c.category || '-' AND e.stream_id < c.category || '.')
))
