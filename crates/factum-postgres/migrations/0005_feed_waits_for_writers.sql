-- The feed waits only for transactions that write events. Like 0001 to
-- 0004, every object is unqualified, in the first schema of search_path.
--
-- Until now a feed reader handed out only rows below the oldest transaction
-- running anywhere on the server, so any long write transaction, in any
-- database of the cluster, held every reader back. Now the horizon is the
-- oldest running transaction that writes events (holds a write lock on
-- this schema's events table), judged against the reader's snapshot:
--
-- * A transaction running when the reader's snapshot was taken is passed
--   over only if, when pg_locks is read just after, it still runs (holds
--   the lock on its own transaction id) and holds no write lock on events.
--   One that writes events bounds the horizon, and so does one without a
--   lock on its id, unless a look taken after pg_locks was read finds that
--   it ended without events.
-- * A transaction that takes its first write lock on events later cannot
--   have a transaction id below what the reader handed out, unless it had
--   one already (it wrote something else first). That case is caught on
--   the writer's side, by the trigger below.

-- The transactions below which a reader whose snapshot is `snapshot` may
-- not hand out rows, with their backend pid (NULL for a prepared
-- transaction or one that has ended):
--
-- * those of the snapshot's running set that still run and hold a write
--   lock on events, as pg_locks says (read once, after the snapshot);
-- * those without a lock on their own id, as pg_locks says: ended since
--   the snapshot, or (for an instant) given an id but not yet its lock.
--   A later statement (a fresh snapshot, taken after pg_locks was read)
--   keeps those it sees ended if it finds their events, and those it still
--   sees running unless they aborted. Under REPEATABLE READ or
--   SERIALIZABLE there is no fresh snapshot: every one of them counts.
--
-- VOLATILE, so that under READ COMMITTED each statement takes a fresh
-- snapshot; the caller passes its own snapshot. PL/pgSQL, so that each
-- session plans the queries once.
CREATE FUNCTION feed_writers(snapshot pg_snapshot)
RETURNS TABLE (transaction_id xid8, pid integer)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    writers xid8[];
    pids    integer[];
    ended   xid8[];
BEGIN
    WITH locks AS MATERIALIZED (
        SELECT l.locktype, l.transactionid::text::bigint AS xid32, l.virtualtransaction,
               l.relation, l.database, l.mode, l.granted, l.pid
        FROM pg_catalog.pg_locks l
        WHERE l.locktype IN ('transactionid', 'relation')
    ), running AS (
        -- Every transaction holds the lock on its own id while it runs.
        SELECT t.xid32, t.virtualtransaction, t.pid
        FROM locks t
        WHERE t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
    ), writing AS (
        SELECT DISTINCT r.virtualtransaction
        FROM locks r
        WHERE r.locktype = 'relation'
          AND r.relation = 'events'::regclass
          AND r.database = (SELECT d.oid FROM pg_catalog.pg_database d
                            WHERE d.datname = pg_catalog.current_database())
          AND r.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock',
                         'ExclusiveLock', 'AccessExclusiveLock')
    ), classified AS (
        SELECT x, running.pid, running.xid32 IS NULL AS has_ended,
               running.virtualtransaction IN (SELECT w.virtualtransaction FROM writing w)
                   AS is_writing
        FROM pg_catalog.pg_snapshot_xip(snapshot) AS x
        LEFT JOIN running ON running.xid32 = x::text::bigint % 4294967296
    )
    SELECT coalesce(array_agg(c.x ORDER BY c.x) FILTER (WHERE c.is_writing), '{}'),
           coalesce(array_agg(c.pid ORDER BY c.x) FILTER (WHERE c.is_writing), '{}'),
           coalesce(array_agg(c.x) FILTER (WHERE c.has_ended), '{}')
      INTO writers, pids, ended
      FROM classified c;

    -- A fresh snapshot: one that sees a transaction as ended also sees its
    -- events, if it committed any. One it still sees running may be a
    -- transaction that has just been given its id and has no lock on it
    -- yet (PostgreSQL publishes the id before it takes that lock): it may
    -- be about to write events, so it counts, unless it aborted.
    IF cardinality(ended) > 0
       AND current_setting('transaction_isolation') = 'read committed' THEN
        SELECT coalesce(array_agg(e), '{}') INTO ended
          FROM unnest(ended) AS e
         WHERE CASE
               WHEN pg_catalog.pg_visible_in_snapshot(e, pg_catalog.pg_current_snapshot())
                   THEN EXISTS (SELECT 1 FROM events WHERE events.transaction_id = e)
               ELSE pg_catalog.pg_xact_status(e) IS DISTINCT FROM 'aborted'
               END;
    END IF;

    RETURN QUERY
        SELECT w.x, w.pid FROM unnest(writers, pids) AS w(x, pid)
        UNION ALL
        SELECT e, NULL::integer FROM unnest(ended) AS e;
END;
$$;

-- The feed's horizon for a reader whose snapshot is `snapshot`: rows whose
-- transaction_id lies below it are final. The oldest of feed_writers(),
-- else the snapshot's xmax (every transaction id below it had ended when
-- the snapshot was taken). When no transaction with an id was running,
-- pg_locks is not read.
CREATE FUNCTION feed_horizon(snapshot pg_snapshot)
RETURNS xid8
LANGUAGE plpgsql VOLATILE
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

-- The writer's side. Before a statement that inserts events in a
-- transaction that already has an id (the trigger's WHEN: an append in a
-- transaction of its own gets its id from its first event, after taking
-- its write lock on events, and skips all of this): the id may be older
-- than events readers have already handed out, unless the transaction
-- took its write lock on events first. It did if it was begun by
-- begin_feed_writer() (the setting factum.feed_writer), or if it holds
-- events of its own (written, lock held, since an earlier statement that
-- passed this check). Otherwise it may write only if no event of a newer
-- transaction is visible yet (a fresh snapshot, taken after the lock,
-- under READ COMMITTED). Under REPEATABLE READ or SERIALIZABLE the
-- snapshot is older than the lock and cannot tell: such a transaction
-- must append before it writes anything else. Refused, it fails with
-- SQLSTATE 40001 (serialization_failure), to be retried whole. The
-- queries name the table's schema dynamically: no search_path setting
-- (which would cost every call) is needed.
CREATE FUNCTION check_feed_writer() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    own    xid8 := pg_catalog.pg_current_xact_id_if_assigned();
    passed boolean;
BEGIN
    IF own IS NULL OR pg_catalog.current_setting('factum.feed_writer', true) = 'on' THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I WHERE transaction_id = $1)',
                   TG_TABLE_SCHEMA, TG_TABLE_NAME)
       INTO passed USING own;
    IF passed THEN
        RETURN NULL;
    END IF;
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        passed := false;
    ELSE
        EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I.%I WHERE transaction_id > $1)',
                       TG_TABLE_SCHEMA, TG_TABLE_NAME)
           INTO passed USING own;
    END IF;
    IF NOT passed THEN
        RAISE EXCEPTION 'factum: transaction % wrote before its first event, and the feed may already have passed it: retry the transaction, appending before any other write or begun with PostgresStore::begin', own
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_check_feed_writer
    BEFORE INSERT ON events
    FOR EACH STATEMENT
    WHEN (pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL)
    EXECUTE FUNCTION check_feed_writer();

-- Makes the calling transaction an event writer before it has a
-- transaction id (PostgresStore::begin): it takes the write lock on events
-- that readers look for, so any later write of the transaction, events or
-- not, is waited for by the feed.
CREATE FUNCTION begin_feed_writer() RETURNS void
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'factum: begin_feed_writer must come before the transaction writes anything'
            USING ERRCODE = 'active_sql_transaction';
    END IF;
    LOCK TABLE events IN ROW EXCLUSIVE MODE;
    PERFORM set_config('factum.feed_writer', 'on', true);
END;
$$;
