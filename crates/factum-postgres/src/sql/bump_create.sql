INSERT INTO {schema}.streams (stream_id, version)
    VALUES ($1, cardinality($3::uuid[]) + 0 * $2::bigint)
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING version
