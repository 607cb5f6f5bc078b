-- The feed waits only for transactions that write events. Like 0001 to
-- 0005, every object is unqualified, in the first schema of search_path.
--
-- Until now every running transaction of this database held readers back,
-- because any of them might append later with its (old) transaction id
-- and so land behind a reader. Two changes end that:
--
-- * The writer's side: a transaction appends under its own id only if it
--   took its write lock on events before it was given that id (an append
--   in a transaction of its own, or the first write of a transaction is an
--   append). A transaction that wrote something else first appends under
--   a fresh id instead, drawn after its lock (see draw_commit_id()): newer
--   than every id a reader may have passed while it was not a writer.
-- * The reader's side: a transaction of the reader's snapshot is passed
--   over when pg_locks shows that it holds no write lock on events, and a
--   look taken after that shows it still running (it cannot have committed
--   events meanwhile). Every other transaction of the snapshot counts,
--   except one that aborted.
--
-- docs/design.md ("The feed: transaction ids") gives the argument.

-- Nothing is ever stored here: draw_commit_id() inserts a row in a
-- subtransaction that it rolls back, for the fresh id the row gets.
CREATE TABLE commit_id_draws ();

-- A fresh transaction id of the calling transaction: the id of a
-- subtransaction that writes a row of commit_id_draws and is rolled back.
-- It is newer than every id given out before the call, and it ends (as
-- far as snapshots are concerned) before the call returns.
CREATE FUNCTION draw_commit_id() RETURNS xid8
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    own   bigint := pg_catalog.pg_current_xact_id()::text::bigint;
    low   bigint := own % 4294967296;
    drawn bigint;
BEGIN
    BEGIN
        INSERT INTO commit_id_draws DEFAULT VALUES RETURNING xmin::text::bigint INTO drawn;
        RAISE SQLSTATE 'FX000';
    EXCEPTION WHEN SQLSTATE 'FX000' THEN
        NULL;
    END;
    -- The subtransaction's 32-bit id, in the epoch of the transaction's
    -- own id (or the next one, if the counter wrapped in between).
    RETURN (own - low + drawn
            + CASE WHEN drawn < low THEN 4294967296 ELSE 0 END)::text::xid8;
END;
$$;

-- The first part of the position of an event the calling transaction
-- inserts: the id place_commit_id() chose for it (kept in the setting
-- factum.commit_id as 'own id:chosen id'), else its own id. A setting left
-- by anything but this transaction is ignored. Inlined into every insert,
-- so the common case (no setting) is tested first and costs the least.
CREATE FUNCTION commit_id() RETURNS xid8
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE
        WHEN coalesce(pg_catalog.current_setting('factum.commit_id', true), '') = ''
        THEN pg_catalog.pg_current_xact_id()
        WHEN pg_catalog.split_part(pg_catalog.current_setting('factum.commit_id', true), ':', 1)
             = pg_catalog.pg_current_xact_id()::text
        THEN pg_catalog.split_part(pg_catalog.current_setting('factum.commit_id', true), ':', 2)::xid8
        ELSE pg_catalog.pg_current_xact_id()
    END
$$;

ALTER TABLE events ALTER COLUMN transaction_id SET DEFAULT commit_id();

-- Before a statement that inserts events in a transaction that already has
-- an id (the trigger's WHEN; an append in a transaction of its own gets its
-- id from its first event, after its write lock, and skips all of this):
-- chooses the commit id of the transaction's events, once. Its own id, if
-- it holds events of its own (stored after the lock, which it still holds);
-- else a fresh one.
CREATE FUNCTION place_commit_id() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    own    xid8 := pg_catalog.pg_current_xact_id();
    placed boolean;
BEGIN
    IF pg_catalog.split_part(pg_catalog.current_setting('factum.commit_id', true), ':', 1)
       = own::text THEN
        RETURN NULL;
    END IF;
    SELECT EXISTS (SELECT 1 FROM events WHERE transaction_id = own) INTO placed;
    PERFORM pg_catalog.set_config(
        'factum.commit_id',
        own::text || ':' || (CASE WHEN placed THEN own ELSE draw_commit_id() END)::text,
        true);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_place_commit_id
    BEFORE INSERT ON events
    FOR EACH STATEMENT
    WHEN (pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL)
    EXECUTE FUNCTION place_commit_id();

-- The transactions below which a reader whose snapshot is `snapshot` may
-- not hand out rows, with their backend pid (NULL for a prepared
-- transaction or one whose lock was not seen). Of the snapshot's running
-- set, every transaction except:
--
-- * one whose backend, when pg_locks was read, held the lock on its id and
--   no write lock on events, provided it is still running afterwards;
-- * one that aborted.
--
-- VOLATILE, so that the status is looked at after pg_locks was read.
CREATE OR REPLACE FUNCTION feed_writers(snapshot pg_snapshot)
RETURNS TABLE (transaction_id xid8, pid integer)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    xids      xid8[];
    pids      integer[];
    passable  boolean[];
BEGIN
    WITH locks AS MATERIALIZED (
        SELECT l.locktype, l.transactionid::text::bigint AS xid32, l.relation,
               l.database, l.mode, l.granted, l.pid
        FROM pg_catalog.pg_locks l
        WHERE l.locktype IN ('transactionid', 'relation')
    ), running AS (
        -- Every transaction holds the lock on its own id while it runs.
        SELECT t.xid32, t.pid
        FROM locks t
        WHERE t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
    ), writing AS (
        SELECT DISTINCT r.pid
        FROM locks r
        WHERE r.locktype = 'relation'
          AND r.relation = 'events'::regclass
          AND r.database = (SELECT d.oid FROM pg_catalog.pg_database d
                            WHERE d.datname = pg_catalog.current_database())
          AND r.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock',
                         'ExclusiveLock', 'AccessExclusiveLock')
          AND r.pid IS NOT NULL
    )
    SELECT coalesce(array_agg(x ORDER BY x), '{}'),
           coalesce(array_agg(running.pid ORDER BY x), '{}'),
           coalesce(array_agg(running.pid IS NOT NULL
                              AND running.pid NOT IN (SELECT w.pid FROM writing w)
                              ORDER BY x), '{}')
      INTO xids, pids, passable
      FROM pg_catalog.pg_snapshot_xip(snapshot) AS x
      LEFT JOIN running ON running.xid32 = x::text::bigint % 4294967296;

    -- A backend runs one transaction at a time: one still running now ran
    -- when pg_locks was read, so the write lock it did not hold then was
    -- not held by an earlier state of it that has committed since.
    RETURN QUERY
        SELECT w.x, w.pid
        FROM unnest(xids, pids, passable) AS w(x, pid, passable)
        WHERE NOT (w.passable AND pg_catalog.pg_xact_status(w.x) = 'in progress')
          AND pg_catalog.pg_xact_status(w.x) IS DISTINCT FROM 'aborted';
END;
$$;

-- feed_horizon() calls feed_writers(), which now reads pg_locks and the
-- transactions' status after the snapshot: VOLATILE.
ALTER FUNCTION feed_horizon(pg_snapshot) VOLATILE;
