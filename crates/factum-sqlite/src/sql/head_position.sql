SELECT MAX(position) FROM factum_events
