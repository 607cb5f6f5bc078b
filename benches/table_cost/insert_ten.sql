-- Ten events to a new stream in one statement, as W2 writes them, without
-- a version check. {table}, {columns} and {extra} (the schema version) are filled in by table_cost.sh.
\set r random(1, 1000000000000)
INSERT INTO {table} ({columns})
SELECT 'balance-' || :r, n, gen_random_uuid(), 'Deposited',
       ('{"account":"account-' || :r || '","amount":' || (1000 + n) || ',"currency":"EUR","reference":"invoice-2026-0000000042-monthly-fee","teller":"branch-042/teller-17"}')::jsonb,
       '{}'::jsonb{extra}
FROM generate_series(1, 10) AS n;
