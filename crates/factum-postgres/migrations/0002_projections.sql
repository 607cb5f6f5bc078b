-- Projections on PostgreSQL: feed notifications and projection leases.
-- Like 0001, every object is created unqualified, in the first schema of
-- search_path.

-- Wakes feed subscribers: after a statement that inserts events, a
-- notification on the channel 'factum_feed_<schema>' (cut to 63 bytes, the
-- longest channel name). PostgreSQL delivers notifications only when the
-- transaction commits. A hint only: subscribers poll as well.
--
-- Its cost: transactions that notify commit one at a time (PostgreSQL
-- serializes their commits on a database-wide lock), which would cap many
-- concurrent writers. So each session notifies at most once per 50 ms:
-- a busy writer sends about 20 notifications a second whatever its rate,
-- and the commits in between keep group commit. Subscribers, once woken,
-- look again 50 ms later, so an event a throttled session wrote is still
-- seen within about 50 ms. To leave subscribers polling only:
-- `ALTER TABLE events DISABLE TRIGGER events_notify_feed`.
CREATE FUNCTION notify_feed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_sent text := current_setting('factum.feed_notified_at', true);
BEGIN
    IF last_sent IS NULL OR last_sent = ''
        OR clock_timestamp() - last_sent::timestamptz >= interval '50 milliseconds'
    THEN
        PERFORM pg_notify(left('factum_feed_' || TG_TABLE_SCHEMA, 63), '');
        -- Session-wide, and undone if the transaction rolls back (as is
        -- the notification).
        PERFORM set_config('factum.feed_notified_at', clock_timestamp()::text, false);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify_feed
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_feed();

-- Who may run a projection (or one partition of it) now. A runner takes the
-- row when it is free, expired or already its own, bumping `token`; every
-- checkpoint it writes checks, in the same transaction, that the row still
-- holds its holder and token and has not expired, and locks the row until
-- commit, so a runner that lost its lease can never commit.
CREATE TABLE projection_leases (
    projection text        NOT NULL,
    partition  integer     NOT NULL DEFAULT 0 CHECK (partition >= 0),
    holder     text        NOT NULL,
    token      bigint      NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (projection, partition)
);
