-- Events a projection's handler kept failing on, set aside so the
-- projection could go on (FailurePolicy::Park): which event (its position's
-- two parts, stream and version), the handler's last error and how often
-- it was tried. The event itself stays in factum_events.
CREATE TABLE factum_parked_events (
    projection     TEXT    NOT NULL,
    commit_part    INTEGER NOT NULL,
    sequence       INTEGER NOT NULL,
    stream_id      TEXT    NOT NULL,
    stream_version INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    error          TEXT    NOT NULL,
    attempts       INTEGER NOT NULL,
    parked_at      TEXT    NOT NULL,
    PRIMARY KEY (projection, commit_part, sequence)
);
