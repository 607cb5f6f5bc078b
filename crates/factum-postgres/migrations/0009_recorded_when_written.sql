-- An event's recorded time is taken when its append writes it, no longer
-- when its transaction began (now()): a transaction held open across a
-- concurrent append to the same stream gave its later version an earlier
-- time, and time travel and time-bounded reads then left out events
-- recorded before their bound. The time is clock_timestamp() taken after
-- the stream's version is read (and, in append_events, after the streams'
-- advisory locks), never before the stream's newest event: within a
-- stream a later version never carries an earlier time. The crate's
-- one-statement appends (src/sql/append_one.sql, append_single.sql) set it
-- the same way; the column's default, for rows written by plain SQL, is
-- the clock too. An index on the time serves ranged reads of the feed.
-- Like 0001 to 0008, every object is unqualified, in the first schema of
-- search_path. append_events is otherwise as in 0007.

ALTER TABLE events ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();

-- Ranged reads of the feed (src/sql/read_all_between.sql).
CREATE INDEX events_recorded_at_idx ON events (recorded_at);

CREATE OR REPLACE FUNCTION append_events(
    p_streams         text[],
    p_expected        bigint[],
    p_stream_of       integer[],
    p_event_ids       uuid[],
    p_event_types     text[],
    p_schema_versions bigint[],
    p_payload_json    text[],
    p_payload_bytes   bytea[],
    p_metadata        text[],
    p_keys            text[],
    p_skip_each       boolean
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
    recorded    timestamptz;
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

    -- A call that mixes stored and new events reuses a key by mistake,
    -- unless every append of it allows that: refused, naming the stored
    -- keys (a JSON array).
    IF NOT p_skip_each
       AND EXISTS (SELECT 1 FROM unnest(dup_seq) AS d WHERE d IS NOT NULL)
       AND EXISTS (SELECT 1 FROM generate_subscripts(p_stream_of, 1) AS i
                    WHERE dup_seq[i] IS NULL) THEN
        RAISE EXCEPTION 'factum: the append mixes stored and new events'
            USING ERRCODE = 'FX40M',
                  DETAIL = (SELECT to_jsonb(coalesce(array_agg(p_keys[i] ORDER BY i), '{}'))::text
                              FROM generate_subscripts(p_stream_of, 1) AS i
                             WHERE dup_seq[i] IS NOT NULL);
    END IF;

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

    -- The events' time, taken now that the streams are locked and their
    -- versions read: never before the newest event of any of the streams
    -- (should the clock have stepped back), one time for the whole call.
    SELECT greatest(clock_timestamp(), max(newest.recorded_at)) INTO recorded
      FROM unnest(p_streams) AS s(id)
      CROSS JOIN LATERAL (SELECT ev.recorded_at FROM events ev
                           WHERE ev.stream_id = s.id
                           ORDER BY ev.stream_version DESC
                           LIMIT 1) AS newest;

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
                            payload_json, payload_bytes, metadata, idempotency_key,
                            recorded_at)
        SELECT p_streams[x.st], x.version, x.id, x.typ, x.sv, x.pj::jsonb, x.pb,
               x.meta::jsonb, x.k, recorded
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
