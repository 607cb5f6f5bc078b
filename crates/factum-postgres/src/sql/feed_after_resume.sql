-- An index read of read_feed.sql: the event `e` lies after where the
-- walk stopped (`resume`) and below the feed's horizon.
(e.transaction_id, e.seq) > ((SELECT transaction_id FROM resume), (SELECT seq FROM resume))
AND e.transaction_id < (SELECT h FROM horizon)
