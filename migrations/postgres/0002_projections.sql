-- Projections on PostgreSQL: feed notifications and projection leases.
-- Like 0001, every object is created unqualified, in the first schema of
-- search_path.

-- Wakes feed subscribers: after each statement that inserts events, one
-- notification on the channel 'factum_feed_<schema>' (cut to 63 bytes, the
-- longest channel name). PostgreSQL delivers notifications only when the
-- transaction commits, and folds identical ones of one transaction into one.
-- A hint only: subscribers poll as well. Its cost: transactions that notify
-- commit one at a time (PostgreSQL serializes their commits on a
-- database-wide lock), which limits many concurrent writers; to trade
-- wake-ups for throughput, `ALTER TABLE events DISABLE TRIGGER
-- events_notify_feed` leaves subscribers polling.
CREATE FUNCTION notify_feed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(left('factum_feed_' || TG_TABLE_SCHEMA, 63), '');
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
