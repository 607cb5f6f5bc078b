-- The first event stored after position ?2 that matches the query ?1 (a
-- JSON array of items {"types": [...], "tags": [...]}; an item matches an
-- event of any of its types, or of any type when it names none, that
-- carries all of its tags): what makes an append's condition fail. Run
-- under the write lock, in the append's transaction.
-- The candidates come from an index: an item with tags from the events
-- carrying its first tag (factum_event_tags' primary key), one with types
-- only from the events of those types (factum_events_event_type), one with
-- neither from every event after ?2. Each candidate is then checked
-- against the whole item.
WITH item AS (
    SELECT value AS item,
           json_extract(value, '$.tags[0]') AS first_tag,
           json_array_length(value, '$.types') AS type_count
    FROM json_each(?1)
), candidate AS (
    SELECT et.position, item.item
    FROM item
    JOIN factum_event_tags AS et ON et.tag = item.first_tag AND et.position > ?2
    WHERE item.first_tag IS NOT NULL
    UNION ALL
    SELECT e.position, item.item
    FROM item
    JOIN json_each(item.item, '$.types') AS ty
    JOIN factum_events AS e ON e.event_type = ty.value AND e.position > ?2
    WHERE item.first_tag IS NULL
    UNION ALL
    SELECT e.position, item.item
    FROM item
    JOIN factum_events AS e ON e.position > ?2
    WHERE item.first_tag IS NULL AND item.type_count = 0
)
SELECT e.position, e.stream_id, e.stream_version, e.event_type
FROM candidate AS c
JOIN factum_events AS e ON e.position = c.position
WHERE (json_array_length(c.item, '$.types') = 0
       OR e.event_type IN (SELECT value FROM json_each(c.item, '$.types')))
  AND NOT EXISTS (
        SELECT 1 FROM json_each(c.item, '$.tags') AS t
        WHERE NOT EXISTS (
            SELECT 1 FROM factum_event_tags AS et
            WHERE et.tag = t.value AND et.position = e.position
        )
      )
ORDER BY e.position
LIMIT 1
