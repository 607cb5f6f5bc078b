-- The factum event store schema for SQLite. Applied by factum-sqlite's
-- migrator (bookkeeping in `_factum_migrations`, so it never clashes with an
-- application's own sqlx migrations in the same file).

-- Every event, in global order. `position` is the sequence part of the
-- event's GlobalPosition: writers are serialized by SQLite's write lock
-- (BEGIN IMMEDIATE) and assign MAX(position) + 1 inside their transaction, so
-- positions grow in commit order and the feed is final for readers.
CREATE TABLE factum_events (
    position        INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL CHECK (stream_version >= 1),
    event_id        BLOB    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    -- 'json': payload is TEXT, queryable with json_extract();
    -- 'msgpack': payload is a BLOB.
    format          TEXT    NOT NULL CHECK (format IN ('json', 'msgpack')),
    payload         BLOB    NOT NULL,
    -- Metadata as JSON text: correlation_id, causation_id, actor, custom.
    metadata        TEXT    NOT NULL,
    idempotency_key TEXT,
    recorded_at     TEXT    NOT NULL
);

-- Versions are unique per stream; also serves reads of one stream and
-- MAX(stream_version) lookups.
CREATE UNIQUE INDEX factum_events_stream_version
    ON factum_events (stream_id, stream_version);

-- Idempotency keys are global.
CREATE UNIQUE INDEX factum_events_idempotency_key
    ON factum_events (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE INDEX factum_events_event_type ON factum_events (event_type);

-- Events are immutable (DESIGN.md, guarantee 6).
CREATE TRIGGER factum_events_no_update BEFORE UPDATE ON factum_events
BEGIN
    SELECT RAISE(ABORT, 'factum events are immutable: UPDATE is not allowed');
END;

CREATE TRIGGER factum_events_no_delete BEFORE DELETE ON factum_events
BEGIN
    SELECT RAISE(ABORT, 'factum events are immutable: DELETE is not allowed');
END;

-- The newest snapshot of each stream.
CREATE TABLE factum_snapshots (
    stream_id      TEXT    PRIMARY KEY,
    stream_version INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    format         TEXT    NOT NULL CHECK (format IN ('json', 'msgpack')),
    state          BLOB    NOT NULL,
    taken_at       TEXT    NOT NULL
);

-- Each projection's checkpoint: the two parts of a GlobalPosition, stored as
-- the bit patterns of the u64 parts.
CREATE TABLE factum_checkpoints (
    name        TEXT    PRIMARY KEY,
    commit_part INTEGER NOT NULL,
    sequence    INTEGER NOT NULL
);
