(SELECT count(*) FROM (
    SELECT pg_advisory_xact_lock_shared((h >> 32)::int4, (h & 2147483647)::int4)::text
    FROM (SELECT hashtextextended(k, 0) AS h FROM unnest($9::text[]) AS k) AS keys
    ORDER BY h
) AS locked) >= 0
