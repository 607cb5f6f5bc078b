-- read_feed.sql for a filter with tags ($6, a text array, not empty): the
-- same page, horizon, pending check and head, but the page's rows are
-- found on event_tags' primary key (tag, transaction_id, seq), in feed
-- order, among the events carrying the first tag (migration 0010), and
-- kept to those carrying all of them and passing the types ($4) and
-- categories ($5) as in read_feed.sql. It looks only at the events
-- carrying the first tag, however long the feed.
WITH {feed_page_head}
SELECT pending.any_pending,
       (SELECT head_commit FROM head) AS head_commit,
       (SELECT head_seq FROM head) AS head_seq,
       page.*
{feed_page_pending}
LEFT JOIN LATERAL (
    SELECT {event_columns}
    FROM {schema}.event_tags AS tagged
    JOIN {schema}.events AS e USING (transaction_id, seq)
    WHERE tagged.tag = ($6::text[])[1]
      AND (tagged.transaction_id, tagged.seq) > ($1::bigint::text::xid8, $2)
      AND tagged.transaction_id < (SELECT h FROM horizon)
      AND e.tags @> $6::text[]
      AND ($4::text[] IS NULL OR e.event_type = ANY ($4::text[]))
      AND {in_categories}
    ORDER BY tagged.transaction_id, tagged.seq
    LIMIT $3
) AS page ON true
ORDER BY page.commit_id, page.seq
