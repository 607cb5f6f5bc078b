-- Tags and conditional appends (the Dynamic Consistency Boundary model).
--
-- An event may carry tags (`user:42`): `events.tags` is what reads hand
-- back (NULL for none), and `event_tags` holds one row per tag and event,
-- so that the events carrying a tag are found in feed order on its primary
-- key (src/sql/read_feed.sql through a tag, and the condition check
-- below). Both are written by the append, in its statement.
--
-- An append may carry a condition: a query (a JSON array of items
-- {"types": [...], "tags": [...]}; an item matches the events of any of its
-- types, any type when it names none, that carry all of its tags) and a
-- position. When an event matching the query was stored after the
-- position, the append fails (FX412, naming the first such event) and
-- writes nothing.
--
-- Concurrency without SERIALIZABLE: every append first takes advisory
-- locks (two-int keys, apart from the streams' one-bigint keys) on what its
-- events could match, shared: each event type, and for each tag the tag
-- alone and the tag with the event's type. A conditional append takes the
-- keys of its query exclusively (an item's first tag, with each of its
-- types when it names some; its types when it has no tag), or, for an item
-- with neither, which matches every event, locks the events table against
-- writers (SHARE ROW EXCLUSIVE); then it checks in a fresh snapshot (READ
-- COMMITTED). So a writer of a matching event either committed before the
-- check, which sees it, or waits until the conditional append has
-- committed. Readers never wait, and neither do writers whose events match
-- no running decision's query. The crate computes the keys, sorted
-- (src/locks.rs); the one-statement appends take their shared keys in
-- their own statement.
--
-- Like 0001 to 0009, every object is unqualified, in the first schema of
-- search_path. append_events is otherwise as in 0009.

ALTER TABLE events ADD COLUMN tags text[];

CREATE TABLE event_tags (
    tag            text   NOT NULL,
    transaction_id xid8   NOT NULL,
    seq            bigint NOT NULL,
    PRIMARY KEY (tag, transaction_id, seq)
);

CREATE TRIGGER event_tags_are_immutable
    BEFORE UPDATE OR DELETE ON event_tags
    FOR EACH ROW EXECUTE FUNCTION reject_event_change();

CREATE TRIGGER event_tags_are_not_truncated
    BEFORE TRUNCATE ON event_tags
    FOR EACH STATEMENT EXECUTE FUNCTION reject_event_change();

DROP FUNCTION append_events(text[], bigint[], integer[], uuid[], text[], bigint[], text[],
                            bytea[], text[], text[], boolean);

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
    p_keys            text[],
    p_skip_each       boolean,
    p_tags            text[],
    p_lock_keys       bigint[],
    p_lock_exclusive  boolean[],
    p_lock_table      boolean,
    p_condition       jsonb,
    p_after_commit    bigint,
    p_after_seq       bigint
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
    lock_no     integer;
    conflict    record;
BEGIN
    -- A condition on every event: no writer may append until this commits.
    IF p_lock_table THEN
        LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;
    END IF;
    -- What the events could match, shared; the condition's query,
    -- exclusive; in the order given (sorted), so that two appends never
    -- wait for each other in a circle.
    FOR lock_no IN 1 .. coalesce(cardinality(p_lock_keys), 0) LOOP
        IF p_lock_exclusive[lock_no] THEN
            PERFORM pg_advisory_xact_lock((p_lock_keys[lock_no] >> 32)::int4,
                                          (p_lock_keys[lock_no] & 2147483647)::int4);
        ELSE
            PERFORM pg_advisory_xact_lock_shared((p_lock_keys[lock_no] >> 32)::int4,
                                                 (p_lock_keys[lock_no] & 2147483647)::int4);
        END IF;
    END LOOP;

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

    -- The condition, unless every event is stored already (a retry of an
    -- append that went through): the first event after the position that
    -- matches the query, seen in this statement's snapshot, taken after the
    -- locks. Candidates come from an index: an item with tags from the
    -- events carrying its first tag, one with types only from the events of
    -- those types, one with neither from the feed after the position.
    IF p_condition IS NOT NULL
       AND EXISTS (SELECT 1 FROM generate_subscripts(p_stream_of, 1) AS i
                    WHERE dup_seq[i] IS NULL) THEN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'factum: a conditional append needs READ COMMITTED, not %',
                current_setting('transaction_isolation');
        END IF;
        SELECT ev.transaction_id, ev.seq, ev.stream_id, ev.stream_version, ev.event_type
          INTO conflict
          FROM jsonb_array_elements(p_condition) AS item(q)
          CROSS JOIN LATERAL (
              SELECT et.transaction_id, et.seq FROM event_tags et
               WHERE et.tag = item.q->'tags'->>0
                 AND (et.transaction_id, et.seq) > (p_after_commit::text::xid8, p_after_seq)
              UNION ALL
              SELECT e.transaction_id, e.seq FROM events e
               WHERE item.q->'tags'->>0 IS NULL
                 AND e.event_type IN (SELECT jsonb_array_elements_text(item.q->'types'))
                 AND (e.transaction_id, e.seq) > (p_after_commit::text::xid8, p_after_seq)
              UNION ALL
              SELECT e.transaction_id, e.seq FROM events e
               WHERE item.q->'tags'->>0 IS NULL AND jsonb_array_length(item.q->'types') = 0
                 AND (e.transaction_id, e.seq) > (p_after_commit::text::xid8, p_after_seq)
          ) AS candidate
          JOIN events ev ON ev.transaction_id = candidate.transaction_id
                        AND ev.seq = candidate.seq
         WHERE (jsonb_array_length(item.q->'types') = 0
                OR ev.event_type IN (SELECT jsonb_array_elements_text(item.q->'types')))
           AND coalesce(ev.tags, '{}') @> ARRAY(SELECT jsonb_array_elements_text(item.q->'tags'))
         ORDER BY ev.transaction_id, ev.seq
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'factum: append condition failed'
                USING ERRCODE = 'FX412',
                      DETAIL = jsonb_build_object(
                          'commit', conflict.transaction_id::text::bigint,
                          'seq', conflict.seq,
                          'stream', conflict.stream_id,
                          'version', conflict.stream_version,
                          'type', conflict.event_type)::text;
        END IF;
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
               CASE WHEN u.tg IS NOT NULL
                    THEN ARRAY(SELECT jsonb_array_elements_text(u.tg::jsonb)) END AS tg,
               dup_seq[u.ord] IS NOT NULL AS dup
          FROM unnest(p_stream_of, p_event_ids, p_event_types, p_schema_versions,
                      p_payload_json, p_payload_bytes, p_metadata, p_keys, p_tags)
               WITH ORDINALITY AS u(st, id, typ, sv, pj, pb, meta, k, tg, ord)
    ), versioned AS (
        SELECT p.*,
               CASE WHEN NOT p.dup THEN
                   base[p.st] + row_number() OVER (PARTITION BY p.st, p.dup ORDER BY p.ord)
               END AS version
          FROM planned p
    ), inserted AS (
        INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version,
                            payload_json, payload_bytes, metadata, idempotency_key,
                            recorded_at, tags)
        SELECT p_streams[x.st], x.version, x.id, x.typ, x.sv, x.pj::jsonb, x.pb,
               x.meta::jsonb, x.k, recorded, x.tg
          FROM versioned x
         WHERE NOT x.dup
         ORDER BY x.ord
        RETURNING events.stream_id, events.stream_version, events.transaction_id, events.seq,
                  events.tags
    ), tagged AS (
        INSERT INTO event_tags (tag, transaction_id, seq)
        SELECT t.tag, i.transaction_id, i.seq
          FROM inserted i, unnest(i.tags) AS t(tag)
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
