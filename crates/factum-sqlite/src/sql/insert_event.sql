INSERT INTO factum_events (
    position, stream_id, stream_version, event_id, event_type, schema_version,
    format, payload, metadata, idempotency_key, recorded_at, tags
) VALUES
