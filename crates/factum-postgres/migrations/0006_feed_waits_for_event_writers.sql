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
--   over when a look taken after pg_locks shows it still running and
--   pg_locks showed it holding no write lock on events (it cannot have
--   committed events meanwhile), or shows it ended having aborted or
--   written no event (feed_writers()).
--
-- docs/design.md ("The feed: transaction ids") gives the argument.

-- One row per transaction that drew a fresh commit id (below), written
-- in a subtransaction that commits with it: the row's xmin is the drawn
-- id. A reader that finds such a transaction ended learns from its row
-- that it wrote events, and where. Rows no snapshot can need any more are
-- removed by later draws.
CREATE TABLE commit_id_draws (
    transaction_id xid8 PRIMARY KEY
);

-- The 64-bit transaction id whose 32-bit form is `x` and which lies
-- nearest to `reference` (PostgreSQL keeps every live id within 2^31 of
-- the next one).
CREATE FUNCTION xid_near(reference xid8, x xid) RETURNS xid8
LANGUAGE sql IMMUTABLE
AS $$
    SELECT (c + CASE WHEN c > r + 2147483648 THEN -4294967296
                     WHEN c < r - 2147483648 THEN 4294967296
                     ELSE 0 END)::text::xid8
    FROM (SELECT reference::text::bigint AS r,
                 reference::text::bigint - reference::text::bigint % 4294967296
                 + x::text::bigint AS c) AS v
$$;

-- A fresh transaction id of the calling transaction: the id of a
-- subtransaction that writes the transaction's row of commit_id_draws and
-- commits (into the transaction). It is newer than every id given out
-- before the call, and it ends when the transaction ends. First (under
-- READ COMMITTED) removes rows of transactions older than every snapshot
-- of the cluster (a reader looks a row up only for a transaction that was
-- running when its snapshot was taken, and that snapshot's xmin stays in
-- pg_stat_activity while it reads), skipping rows another draw is
-- removing.
CREATE FUNCTION draw_commit_id() RETURNS xid8
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    own    xid8 := pg_catalog.pg_current_xact_id();
    oldest xid8;
    drawn  xid;
BEGIN
    -- Under REPEATABLE READ or SERIALIZABLE a row another draw removed
    -- meanwhile would fail this one: such transactions leave the removal
    -- to others.
    IF pg_catalog.current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM pg_catalog.pg_stat_clear_snapshot();
        SELECT least(pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()),
                     min(xid_near(own, a.backend_xmin)))
          INTO oldest
          FROM pg_catalog.pg_stat_activity a
         WHERE a.backend_xmin IS NOT NULL;
        DELETE FROM commit_id_draws
         WHERE ctid IN (SELECT d.ctid FROM commit_id_draws d
                         WHERE d.transaction_id < oldest
                         LIMIT 100 FOR UPDATE SKIP LOCKED);
    END IF;
    BEGIN
        INSERT INTO commit_id_draws VALUES (own) RETURNING xmin INTO drawn;
    EXCEPTION WHEN SQLSTATE 'FX000' THEN
        -- Never raised: the handler makes the block a subtransaction.
        NULL;
    END;
    RETURN xid_near(own, drawn);
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

-- The transactions that hold back a reader whose snapshot is `snapshot`,
-- with their backend pid (NULL for a prepared transaction or one whose
-- lock was not seen) and the position below which the reader may hand out
-- rows because of them (`horizon`). Of the snapshot's running set:
--
-- * one still running after pg_locks was read: passed over if its backend
--   then held the lock on its id and no write lock on events (it has
--   written no event: whatever it appends later gets a fresh commit id);
--   else it counts, at its own id;
-- * one that has ended: passed over if it aborted or wrote no event;
--   else it counts, at its own id, or at the commit id it drew
--   (commit_id_draws).
--
-- Whether one has ended, and what it wrote, is read in a snapshot taken
-- after pg_locks: under READ COMMITTED, each statement of this function
-- takes one. Under REPEATABLE READ or SERIALIZABLE there is none: then
-- every transaction that has ended (and did not abort) counts.
DROP FUNCTION feed_horizon(pg_snapshot);
DROP FUNCTION feed_writers(pg_snapshot);

CREATE FUNCTION feed_writers(snapshot pg_snapshot)
RETURNS TABLE (transaction_id xid8, pid integer, horizon xid8)
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

    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN QUERY
            SELECT w.x, w.pid, w.x
            FROM unnest(xids, pids, passable) AS w(x, pid, passable)
            WHERE NOT (w.passable AND pg_catalog.pg_xact_status(w.x) = 'in progress')
              AND pg_catalog.pg_xact_status(w.x) IS DISTINCT FROM 'aborted';
        RETURN;
    END IF;

    -- A fresh snapshot. One that still sees a transaction running: it ran
    -- when pg_locks was read (a backend runs one transaction at a time,
    -- and releases its locks only after it has ended), so the write lock
    -- it did not hold then was not released by a commit meanwhile. One
    -- that sees it ended also sees what it wrote.
    RETURN QUERY
        SELECT w.x, w.pid, b.horizon
        FROM unnest(xids, pids, passable) AS w(x, pid, passable)
        CROSS JOIN LATERAL (
            SELECT CASE
                WHEN NOT pg_catalog.pg_visible_in_snapshot(w.x, pg_catalog.pg_current_snapshot())
                    THEN CASE WHEN w.passable THEN NULL ELSE w.x END
                WHEN pg_catalog.pg_xact_status(w.x) = 'aborted' THEN NULL
                WHEN EXISTS (SELECT 1 FROM events e WHERE e.transaction_id = w.x) THEN w.x
                ELSE (SELECT xid_near(d.transaction_id, d.xmin)
                      FROM commit_id_draws d WHERE d.transaction_id = w.x)
            END AS horizon
        ) AS b
        WHERE b.horizon IS NOT NULL;
END;
$$;

-- The feed's horizon for a reader whose snapshot is `snapshot`: rows whose
-- transaction_id lies below it are final. The lowest horizon of
-- feed_writers(), else the snapshot's xmax (every transaction id below it
-- had ended when the snapshot was taken). When no transaction with an id
-- was running, nothing else is read.
CREATE FUNCTION feed_horizon(snapshot pg_snapshot)
RETURNS xid8
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    lowest xid8;
BEGIN
    IF pg_catalog.pg_snapshot_xmin(snapshot) = pg_catalog.pg_snapshot_xmax(snapshot) THEN
        RETURN pg_catalog.pg_snapshot_xmax(snapshot);
    END IF;
    SELECT min(w.horizon) INTO lowest FROM feed_writers(snapshot) AS w;
    RETURN coalesce(lowest, pg_catalog.pg_snapshot_xmax(snapshot));
END;
$$;
