-- One event to a new stream, without a version check: the cost of the
-- table alone. {table}, {columns} and {extra} (the schema version) are filled in by table_cost.sh.
\set r random(1, 1000000000000)
INSERT INTO {table} ({columns})
VALUES ('balance-' || :r, 1, gen_random_uuid(), 'Deposited',
        ('{"account":"account-' || :r || '","amount":1042,"currency":"EUR","reference":"invoice-2026-0000000042-monthly-fee","teller":"branch-042/teller-17"}')::jsonb,
        '{}'::jsonb{extra});
