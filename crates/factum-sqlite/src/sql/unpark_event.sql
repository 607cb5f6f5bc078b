DELETE FROM factum_parked_events
WHERE projection = ?1 AND commit_part = ?2 AND sequence = ?3
