SELECT max(stream_version) FROM {schema}.events WHERE stream_id = $1
