stream_version, event_type, schema_version, payload_json::text AS payload_json, payload_bytes
