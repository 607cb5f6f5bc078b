-- The factum event store, PostgreSQL 13 or newer.
--
-- Every object is created unqualified, so it lands in the first schema of
-- search_path. `PostgresStore::migrate` creates the configured schema and runs
-- this file with search_path set to it. To apply it with your own tooling, do
-- the same, for example:
--     CREATE SCHEMA IF NOT EXISTS factum;
--     SET search_path TO factum;
-- and configure the store with that schema. The functions below capture the
-- search_path they are created with (SET search_path FROM CURRENT), so they
-- keep finding their tables whatever the caller's search_path is.

-- The events. The global position is (transaction_id, seq): transaction_id
-- is the writing transaction's id, seq a sequence number. A feed reader hands
-- out only rows whose transaction_id lies below the oldest transaction still
-- running, so a late commit can never publish an event behind its back.
CREATE TABLE events (
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    seq             bigint      GENERATED ALWAYS AS IDENTITY,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  bigint      NOT NULL,
    -- Exactly one of the two payload columns is set: JSON stays queryable,
    -- MessagePack is kept as bytes.
    payload_json    jsonb,
    payload_bytes   bytea,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    idempotency_key text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- Reads a stream by version; a stream's current version is its highest
    -- stream_version, and this key is what keeps two appends from both
    -- writing the same version (optimistic concurrency).
    PRIMARY KEY (stream_id, stream_version),
    CONSTRAINT events_one_payload CHECK ((payload_json IS NULL) <> (payload_bytes IS NULL))
);

-- Pages the global feed.
CREATE UNIQUE INDEX events_position_idx ON events (transaction_id, seq);
-- Idempotency keys are unique across all streams.
CREATE UNIQUE INDEX events_idempotency_key_idx ON events (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Filters the feed by event type.
CREATE INDEX events_event_type_idx ON events (event_type, transaction_id, seq);

-- Events are immutable.
CREATE FUNCTION reject_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'factum events are immutable: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'prohibited_sql_statement_attempted';
END;
$$;

CREATE TRIGGER events_are_immutable
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION reject_event_change();

CREATE TRIGGER events_are_not_truncated
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION reject_event_change();

-- The newest snapshot of each stream.
CREATE TABLE snapshots (
    stream_id      text        PRIMARY KEY,
    stream_version bigint      NOT NULL,
    schema_version bigint      NOT NULL,
    format         text        NOT NULL CHECK (format IN ('json', 'msgpack')),
    state          bytea       NOT NULL,
    taken_at       timestamptz NOT NULL
);

-- Each projection's checkpoint: the two parts of a global position, stored
-- bit for bit (a part above 2^63 - 1 reads as a negative bigint).
CREATE TABLE checkpoints (
    name        text        PRIMARY KEY,
    commit_part bigint      NOT NULL,
    seq_part    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Appends events to one or more streams in one step (the crate sends a
-- single stream without idempotency keys as a plain INSERT instead, see
-- src/sql/append_one.sql in factum-postgres).
--
-- Per stream: p_streams[i] and p_expected[i] (-1 any, -2 no stream, -3 stream
-- exists, n >= 0 exactly version n). Per event, in order: the 1-based index of
-- its stream in p_streams, then its fields. p_keys is NULL when no event
-- carries an idempotency key.
--
-- A stream's version is its highest stored stream_version; the primary key
-- (stream_id, stream_version) is what makes two writers of one version
-- impossible. Calls of this function also take a transaction-scoped advisory
-- lock per stream, in one global order, so that they queue instead of
-- colliding (and cannot deadlock each other).
--
-- Returns one row per event, in order. A version conflict raises SQLSTATE
-- FX409 with DETAIL '<stream index>:<actual version or empty>', naming the
-- first failing stream in the order given. When a concurrent append stored
-- one of the keys or versions first, the call fails with FX40R or a unique
-- violation (events_idempotency_key_idx, events_pkey) and should simply be
-- retried: the retry sees what was stored and reports duplicates or the
-- conflict.
CREATE FUNCTION append_events(
    p_streams         text[],
    p_expected        bigint[],
    p_stream_of       integer[],
    p_event_ids       uuid[],
    p_event_types     text[],
    p_schema_versions bigint[],
    p_payload_json    text[],
    p_payload_bytes   bytea[],
    p_metadata        text[],
    p_keys            text[]
) RETURNS TABLE (
    event_no        integer,
    is_duplicate    boolean,
    original_stream text,
    stream_version  bigint,
    commit_id       bigint,
    seq             bigint,
    current_version bigint
)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
    n_streams   integer := cardinality(p_streams);
    n_events    integer := cardinality(p_stream_of);
    dup_stream  text[];
    dup_version bigint[];
    dup_commit  bigint[];
    dup_seq     bigint[];
    new_count   bigint[] := array_fill(0::bigint, ARRAY[n_streams]);
    base        bigint[] := array_fill(0::bigint, ARRAY[n_streams]);
    cur         bigint[] := array_fill(NULL::bigint, ARRAY[n_streams]);
    s           integer;
    e           integer;
    actual      bigint;
    expected    bigint;
BEGIN
    -- Queue behind other calls appending to the same streams.
    FOR s IN SELECT t.ord FROM unnest(p_streams) WITH ORDINALITY AS t(id, ord)
             ORDER BY t.id COLLATE "C" LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || p_streams[s], 0));
    END LOOP;

    -- Events whose key is stored already are duplicates of the stored one.
    IF p_keys IS NOT NULL THEN
        SELECT array_agg(ev.stream_id ORDER BY k.ord),
               array_agg(ev.stream_version ORDER BY k.ord),
               array_agg(ev.transaction_id::text::bigint ORDER BY k.ord),
               array_agg(ev.seq ORDER BY k.ord)
          INTO dup_stream, dup_version, dup_commit, dup_seq
          FROM unnest(p_keys) WITH ORDINALITY AS k(key, ord)
          LEFT JOIN events ev ON ev.idempotency_key = k.key;
    END IF;

    FOR e IN 1 .. n_events LOOP
        IF dup_seq[e] IS NULL THEN
            new_count[p_stream_of[e]] := new_count[p_stream_of[e]] + 1;
        END IF;
    END LOOP;

    -- Check each stream that gets events, in the order given; a stream all
    -- of whose events are duplicates is not checked.
    FOR s IN 1 .. n_streams LOOP
        SELECT max(ev.stream_version) INTO actual FROM events ev WHERE ev.stream_id = p_streams[s];
        cur[s] := actual;
        base[s] := coalesce(actual, 0);
        CONTINUE WHEN new_count[s] = 0;
        expected := p_expected[s];
        IF NOT (CASE
            WHEN expected = -1 THEN true
            WHEN expected = -2 THEN actual IS NULL
            WHEN expected = -3 THEN actual IS NOT NULL
            ELSE coalesce(actual = expected, false)
        END) THEN
            RAISE EXCEPTION 'factum: version conflict on stream %', p_streams[s]
                USING ERRCODE = 'FX409', DETAIL = s::text || ':' || coalesce(actual::text, '');
        END IF;
        cur[s] := base[s] + new_count[s];
    END LOOP;

    RETURN QUERY
    WITH planned AS (
        SELECT u.ord::integer AS ord, u.st, u.id, u.typ, u.sv, u.pj, u.pb, u.meta, u.k,
               dup_seq[u.ord] IS NOT NULL AS dup
          FROM unnest(p_stream_of, p_event_ids, p_event_types, p_schema_versions,
                      p_payload_json, p_payload_bytes, p_metadata, p_keys)
               WITH ORDINALITY AS u(st, id, typ, sv, pj, pb, meta, k, ord)
    ), versioned AS (
        SELECT p.*,
               CASE WHEN NOT p.dup THEN
                   base[p.st] + row_number() OVER (PARTITION BY p.st, p.dup ORDER BY p.ord)
               END AS version
          FROM planned p
    ), inserted AS (
        INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version,
                            payload_json, payload_bytes, metadata, idempotency_key)
        SELECT p_streams[x.st], x.version, x.id, x.typ, x.sv, x.pj::jsonb, x.pb,
               x.meta::jsonb, x.k
          FROM versioned x
         WHERE NOT x.dup
         ORDER BY x.ord
        RETURNING events.stream_id, events.stream_version, events.transaction_id, events.seq
    )
    SELECT x.ord,
           x.dup,
           CASE WHEN x.dup THEN dup_stream[x.ord] END,
           CASE WHEN x.dup THEN dup_version[x.ord] ELSE x.version END,
           CASE WHEN x.dup THEN dup_commit[x.ord] ELSE i.transaction_id::text::bigint END,
           CASE WHEN x.dup THEN dup_seq[x.ord] ELSE i.seq END,
           cur[x.st]
      FROM versioned x
      LEFT JOIN inserted i
        ON NOT x.dup AND i.stream_id = p_streams[x.st] AND i.stream_version = x.version
     ORDER BY x.ord;
END;
$$;
