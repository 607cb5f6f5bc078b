-- The feed waits only for transactions of this database. Like 0001 to
-- 0004, every object is unqualified, in the first schema of search_path.
--
-- Until now a feed reader handed out only rows below the oldest transaction
-- running anywhere on the server, so any long write transaction, in any
-- database of the cluster, held every reader back. A backend stays in one
-- database for its whole life, and only a backend of this database can
-- write its events: now the horizon is the oldest transaction of the
-- reader's snapshot that is not known to run in another database.

-- The transactions below which a reader whose snapshot is `snapshot` may
-- not hand out rows, with their backend pid: every transaction of the
-- snapshot's running set, except those that pg_stat_activity shows running
-- in another database. One it does not show (it ended since the snapshot,
-- it is a prepared transaction, or the caller may not see that session)
-- counts, with a NULL pid.
CREATE FUNCTION feed_writers(snapshot pg_snapshot)
RETURNS TABLE (transaction_id xid8, pid integer)
LANGUAGE sql STABLE
AS $$
    SELECT x, a.pid
    FROM pg_catalog.pg_snapshot_xip(snapshot) AS x
    LEFT JOIN pg_catalog.pg_stat_activity AS a
           ON a.backend_xid::text::bigint = x::text::bigint % 4294967296
    WHERE a.datid IS NULL
       OR a.datid = (SELECT d.oid FROM pg_catalog.pg_database d
                     WHERE d.datname = pg_catalog.current_database())
$$;

-- The feed's horizon for a reader whose snapshot is `snapshot`: rows whose
-- transaction_id lies below it are final. The oldest of feed_writers(),
-- else the snapshot's xmax (every transaction id below it had ended when
-- the snapshot was taken). When no transaction with an id was running,
-- pg_stat_activity is not read.
CREATE FUNCTION feed_horizon(snapshot pg_snapshot)
RETURNS xid8
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
    oldest xid8;
BEGIN
    IF pg_catalog.pg_snapshot_xmin(snapshot) = pg_catalog.pg_snapshot_xmax(snapshot) THEN
        RETURN pg_catalog.pg_snapshot_xmax(snapshot);
    END IF;
    SELECT min(w.transaction_id) INTO oldest FROM feed_writers(snapshot) AS w;
    RETURN coalesce(oldest, pg_catalog.pg_snapshot_xmax(snapshot));
END;
$$;
