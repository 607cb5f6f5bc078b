UPDATE {schema}.streams
    SET version = version + cardinality($3::uuid[])
    WHERE stream_id = $1 AND ($2::bigint < 0 OR version = $2::bigint)
    RETURNING version
