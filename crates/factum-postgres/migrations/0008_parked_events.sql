-- Events a projection's handler kept failing on, set aside so the
-- projection could go on (FailurePolicy::Park): which event (its global
-- position's two parts, stored bit for bit like checkpoints; its stream and
-- version), the handler's last error and how often it was tried. The event
-- itself stays in events. Like 0001, created unqualified, in the first
-- schema of search_path.
CREATE TABLE parked_events (
    projection     text        NOT NULL,
    commit_part    bigint      NOT NULL,
    seq_part       bigint      NOT NULL,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    event_type     text        NOT NULL,
    error          text        NOT NULL,
    attempts       integer     NOT NULL,
    parked_at      timestamptz NOT NULL,
    PRIMARY KEY (projection, commit_part, seq_part)
);
