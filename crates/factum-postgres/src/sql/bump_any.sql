INSERT INTO {schema}.streams AS st (stream_id, version)
    VALUES ($1, cardinality($3::uuid[]) + 0 * $2::bigint)
    ON CONFLICT (stream_id) DO UPDATE SET version = st.version + EXCLUDED.version
    RETURNING st.version
