-- One page of the global feed after position ($1, $2), at most $3 events,
-- through a filter: $4 the event types (NULL: any type), $5 the categories
-- (NULL: any stream), a stream being in category c when its id is c or
-- starts with c and '-' (the ids between c || '-' and c || '.', bytewise:
-- identifiers compare in the "C" collation). As `read_all.sql`, only rows
-- below the feed's horizon are handed out, and `pending` tells whether
-- committed rows wait behind it; the horizon itself comes back too, since
-- every row below it has been looked at when the page is short, up to
-- the newest event below it, whose position comes back too (`head_*`):
-- how far a short page looked. (Not the horizon itself: it moves with
-- every transaction, a reader's own checkpoint writes included, while no
-- event is added.)
--
-- The page's positions are found first, then its rows, by their place
-- in the table (ctid: events are never updated, and one statement sees
-- one version of each row). The feed is walked for at most 4 rows per
-- event asked for; when that finds $3 matches, or there is no filter,
-- they are the page: a dense filter reads about as many rows as no
-- filter does. Else (a filter that lets fewer than one event in 4
-- through, or a reader near the head) the walk's matches are followed by
-- the first $3 positions after them of each event type of the filter in
-- events_event_type_idx (event_type, transaction_id, seq), or of each
-- category in events_category_idx (the stream's category,
-- transaction_id, seq; migration 0011), each read in feed order, and the
-- first $3 of them all are the page: about $3 index entries per type or
-- category however few events match, where walking on would read every
-- row up to the page's last match. Types and categories together go
-- through the types' index, the categories checked on each row. Which
-- part runs is decided as the statement runs (one-time conditions), so
-- a generic plan of the prepared statement keeps these index scans too.
WITH {feed_page_head}, walked AS MATERIALIZED (
    -- The matches among the next 4 × $3 rows of the feed, at most $3.
    SELECT e.ctid, e.transaction_id, e.seq
    FROM (
        SELECT ctid, transaction_id, seq, event_type, stream_id
        FROM {schema}.events
        WHERE (transaction_id, seq) > ($1::bigint::text::xid8, $2)
          AND transaction_id < (SELECT h FROM horizon)
        ORDER BY transaction_id, seq
        LIMIT 4 * $3
    ) AS e
    WHERE ($4::text[] IS NULL OR e.event_type = ANY ($4::text[]))
      AND {in_categories}
    ORDER BY e.transaction_id, e.seq
    LIMIT $3
), resume AS MATERIALIZED (
    -- Where the indexes are read from when the walk did not find the
    -- page: after its last match, else after the reader (every match the
    -- walk passed is one of its matches).
    SELECT r.transaction_id, r.seq
    FROM (SELECT walked.transaction_id, walked.seq FROM walked
          UNION ALL
          SELECT $1::bigint::text::xid8, $2) AS r
    ORDER BY r.transaction_id DESC, r.seq DESC
    LIMIT 1
), walk AS MATERIALIZED (
    SELECT ($4::text[] IS NULL AND $5::text[] IS NULL)
           OR (SELECT count(*) FROM walked) = $3 AS found_page
)
SELECT pending.any_pending,
       (SELECT head_commit FROM head) AS head_commit,
       (SELECT head_seq FROM head) AS head_seq,
       page.*
{feed_page_pending}
LEFT JOIN LATERAL (
    SELECT {event_columns}
    FROM {schema}.events
    WHERE ctid = ANY (ARRAY(
        SELECT found.ctid
        FROM (
            SELECT walked.* FROM walked
            UNION ALL
            -- One event type, with or without categories: the type is a
            -- bound value here, so a custom plan weighs it by its own
            -- frequency (a type among few common ones may be rare).
            SELECT one.*
            FROM (
                SELECT e.ctid, e.transaction_id, e.seq
                FROM {schema}.events AS e
                WHERE cardinality($4::text[]) = 1
                  AND NOT (SELECT found_page FROM walk)
                  AND e.event_type = ($4::text[])[1]
                  AND {feed_after_resume}
                  AND {in_categories}
                ORDER BY e.transaction_id, e.seq
                LIMIT $3
            ) AS one
            UNION ALL
            -- Several event types (each once), with or without categories.
            SELECT typed.*
            FROM (SELECT DISTINCT t.event_type FROM unnest($4::text[]) AS t (event_type)
                  WHERE cardinality($4::text[]) > 1
                    AND NOT (SELECT found_page FROM walk)) AS t
            CROSS JOIN LATERAL (
                SELECT e.ctid, e.transaction_id, e.seq
                FROM {schema}.events AS e
                WHERE e.event_type = t.event_type
                  AND {feed_after_resume}
                  AND {in_categories}
                ORDER BY e.transaction_id, e.seq
                LIMIT $3
            ) AS typed
            UNION ALL
            -- Categories without '-' (each once): the streams whose
            -- category, the part of the id before the first '-', is it.
            SELECT filed.*
            FROM (SELECT DISTINCT c.category
                  FROM unnest($5::text[]) AS c (category)
                  WHERE $4::text[] IS NULL AND strpos(c.category, '-') = 0
                    AND NOT (SELECT found_page FROM walk)) AS c
            CROSS JOIN LATERAL (
                SELECT e.ctid, e.transaction_id, e.seq
                FROM {schema}.events AS e
                WHERE split_part(e.stream_id, '-', 1) = c.category
                  AND {feed_after_resume}
                ORDER BY e.transaction_id, e.seq
                LIMIT $3
            ) AS filed
            UNION ALL
            -- Categories with '-' ("sales-order": streams "sales-order"
            -- and "sales-order-..."), within the category of their first
            -- part; not those whose streams another category of the
            -- filter takes already, so that no position comes twice.
            SELECT nested.*
            FROM (SELECT DISTINCT c.category
                  FROM unnest($5::text[]) AS c (category)
                  WHERE $4::text[] IS NULL AND strpos(c.category, '-') > 0
                    AND NOT (SELECT found_page FROM walk)
                    AND NOT EXISTS (
                        SELECT 1 FROM unnest($5::text[]) AS o (category)
                        WHERE o.category = split_part(c.category, '-', 1)
                           OR (c.category COLLATE "C" >= o.category || '-'
                               AND c.category COLLATE "C" < o.category || '.'))) AS c
            CROSS JOIN LATERAL (
                SELECT e.ctid, e.transaction_id, e.seq
                FROM {schema}.events AS e
                WHERE split_part(e.stream_id, '-', 1) = split_part(c.category, '-', 1)
                  AND (e.stream_id = c.category
                       OR (e.stream_id >= c.category || '-' AND e.stream_id < c.category || '.'))
                  AND {feed_after_resume}
                ORDER BY e.transaction_id, e.seq
                LIMIT $3
            ) AS nested
        ) AS found
        ORDER BY found.transaction_id, found.seq
        LIMIT $3
    ))
) AS page ON true
ORDER BY page.commit_id, page.seq
