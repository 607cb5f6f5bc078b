SELECT {event_columns}
FROM {schema}.events
WHERE stream_id = $1 AND stream_version BETWEEN $2 AND $3
ORDER BY stream_version DESC
LIMIT $4
