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

-- One row per stream: its current version. Appends lock and bump this row in
-- the same transaction as they insert events, which is what serializes
-- writers of one stream and makes the expected-version check race-free.
CREATE TABLE streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL CHECK (version > 0)
);

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

-- Appends events to one or more streams in one step; see append_events.sql
-- in the factum-postgres crate for how it is called.
--
-- Per stream: p_streams[i] and p_expected[i] (-1 any, -2 no stream, -3 stream
-- exists, n >= 0 exactly version n). Per event, in order: the 1-based index of
-- its stream in p_streams, then its fields. p_keys is NULL when no event
-- carries an idempotency key.
--
-- Returns one row per event, in order. A version conflict raises SQLSTATE
-- FX409 with DETAIL '<stream index>:<actual version or empty>', naming the
-- first failing stream in the order given. When a concurrent append stored
-- one of the keys first, the call raises FX40R (or the unique violation on
-- events_idempotency_key_idx) and should simply be retried: the retry reports
-- that event as a duplicate.
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
    base        bigint[] := array_fill(NULL::bigint, ARRAY[n_streams]);
    cur         bigint[] := array_fill(NULL::bigint, ARRAY[n_streams]);
    s           integer;
    c           integer;
    e           integer;
    v           bigint;
    actual      bigint;
    expected    bigint;
BEGIN
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

    -- Check and bump each stream's version, locking its row; streams are
    -- taken in one global order so that multi-stream appends cannot deadlock.
    FOR s IN SELECT t.ord FROM unnest(p_streams) WITH ORDINALITY AS t(id, ord)
             ORDER BY t.id COLLATE "C" LOOP
        IF new_count[s] = 0 THEN
            -- Every event is a duplicate: nothing to write, nothing to check.
            SELECT st.version INTO v FROM streams st WHERE st.stream_id = p_streams[s];
            cur[s] := v;
            CONTINUE;
        END IF;
        expected := p_expected[s];
        v := NULL;
        IF expected = -1 THEN
            INSERT INTO streams AS st (stream_id, version) VALUES (p_streams[s], new_count[s])
                ON CONFLICT (stream_id) DO UPDATE SET version = st.version + EXCLUDED.version
                RETURNING st.version INTO v;
        ELSIF expected = -2 THEN
            INSERT INTO streams (stream_id, version) VALUES (p_streams[s], new_count[s])
                ON CONFLICT (stream_id) DO NOTHING
                RETURNING version INTO v;
        ELSIF expected = -3 THEN
            UPDATE streams st SET version = st.version + new_count[s]
                WHERE st.stream_id = p_streams[s]
                RETURNING st.version INTO v;
        ELSE
            UPDATE streams st SET version = st.version + new_count[s]
                WHERE st.stream_id = p_streams[s] AND st.version = expected
                RETURNING st.version INTO v;
        END IF;
        IF v IS NULL THEN
            -- A key stored meanwhile may turn this append into a duplicate,
            -- which skips the version check: then the caller retries.
            IF p_keys IS NOT NULL AND EXISTS (
                SELECT 1 FROM unnest(p_keys) WITH ORDINALITY AS k(key, ord)
                  JOIN events ev ON ev.idempotency_key = k.key
                 WHERE dup_seq[k.ord] IS NULL) THEN
                RAISE EXCEPTION 'factum: an idempotency key was stored concurrently; retry'
                    USING ERRCODE = 'FX40R';
            END IF;
            -- Report the first stream, in the order given, whose expectation
            -- fails; streams bumped above are judged by their version before.
            FOR c IN 1 .. n_streams LOOP
                CONTINUE WHEN new_count[c] = 0;
                IF base[c] IS NOT NULL THEN
                    actual := nullif(base[c], 0);
                ELSE
                    SELECT st.version INTO actual FROM streams st WHERE st.stream_id = p_streams[c];
                END IF;
                expected := p_expected[c];
                IF NOT (CASE
                    WHEN expected = -1 THEN true
                    WHEN expected = -2 THEN actual IS NULL
                    WHEN expected = -3 THEN actual IS NOT NULL
                    ELSE coalesce(actual = expected, false)
                END) THEN
                    RAISE EXCEPTION 'factum: version conflict on stream %', p_streams[c]
                        USING ERRCODE = 'FX409', DETAIL = c::text || ':' || coalesce(actual::text, '');
                END IF;
            END LOOP;
            -- The stream changed after the failed check: try again.
            RAISE EXCEPTION 'factum: stream % changed during the append; retry', p_streams[s]
                USING ERRCODE = 'FX40R';
        END IF;
        cur[s] := v;
        base[s] := v - new_count[s];
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
