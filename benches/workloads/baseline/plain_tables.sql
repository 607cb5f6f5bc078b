-- The PostgreSQL baseline's tables: what a user would write by hand for
-- the same rows. {schema} is filled in by the runner
-- (benches/workloads/baseline/postgres.rs) and by
-- benches/table_cost/table_cost.sh.
CREATE TABLE {schema}.plain_events (
    stream_id   text        NOT NULL,
    version     bigint      NOT NULL,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    payload     jsonb       NOT NULL,
    metadata    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version)
);
CREATE TABLE {schema}.plain_snapshots (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL,
    state     bytea  NOT NULL
);
