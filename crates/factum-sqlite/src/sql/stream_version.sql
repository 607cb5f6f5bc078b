SELECT MAX(stream_version) FROM factum_events WHERE stream_id = ?1
