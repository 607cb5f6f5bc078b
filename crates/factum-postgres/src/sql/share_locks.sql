(SELECT count(pg_advisory_xact_lock_shared((k >> 32)::int4, (k & 2147483647)::int4)::text)
 FROM unnest({lock_keys}::bigint[]) AS k) >= 0
