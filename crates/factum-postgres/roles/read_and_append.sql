-- The privileges of a role that runs factum on PostgreSQL and may only read
-- and append: it cannot change or remove a stored event (no UPDATE, DELETE
-- or TRUNCATE on events, whatever the triggers say) and runs no DDL. The
-- migrations run as another role, which owns the schema and its objects.
--
-- Not a migration (`PostgresStore::migrate` does not run it): run it as
-- that owner, after migrating, with psql variables naming the schema and the
-- role (created beforehand, e.g. `CREATE ROLE factum_app LOGIN PASSWORD ...`):
--
--     psql -v schema=factum -v role=factum_app -f read_and_append.sql
--
-- and again after every upgrade (granting twice is harmless). The role
-- then opens the store with `PostgresStore::connect` or `factum::open`:
-- on a schema whose migrations are all applied, they only read
-- `_sqlx_migrations`. The crate's `tests/least_privilege.rs` runs this
-- very file (the two variables filled in), then everything the store does,
-- under such a role.
--
-- Nothing here concerns the database itself: every role may connect to a
-- new database (PUBLIC has CONNECT) and use pg_notify and LISTEN, all that
-- the feed's notifications need. Where CONNECT was revoked from PUBLIC,
-- grant it: GRANT CONNECT ON DATABASE <database> TO <role>. Before
-- PostgreSQL 15 every role may create tables in the schema `public`; revoke
-- that (REVOKE CREATE ON SCHEMA public FROM PUBLIC) for a role without DDL
-- at all.

-- Naming the schema's objects; no CREATE in it.
GRANT USAGE ON SCHEMA :"schema" TO :"role";

-- The events: read and append, nothing else. Appending takes `seq` from the
-- identity column's sequence, which needs no privilege on the sequence.
GRANT SELECT, INSERT ON :"schema".events TO :"role";

-- The events' tags (migration 0010), written with them: read and insert.
GRANT SELECT, INSERT ON :"schema".event_tags TO :"role";

-- A transaction that writes something else before it appends draws a
-- fresh commit id: it inserts its row here (RETURNING its xmin needs
-- SELECT) and removes rows no reader can need any more (locking them FOR
-- UPDATE SKIP LOCKED first, which needs UPDATE). Only factum's
-- own bookkeeping: no event is ever changed through it.
GRANT SELECT, INSERT, UPDATE, DELETE ON :"schema".commit_id_draws TO :"role";

-- The newest snapshot of each stream, replaced by an upsert; never deleted.
GRANT SELECT, INSERT, UPDATE ON :"schema".snapshots TO :"role";

-- Checkpoints: saved by upsert, moved by compare-and-set, deleted by
-- `delete_checkpoint` and by a projection's rebuild.
GRANT SELECT, INSERT, UPDATE, DELETE ON :"schema".checkpoints TO :"role";

-- Events a projection parked (FailurePolicy::Park): parked, listed, updated
-- by a failed replay, forgotten by a successful one.
GRANT SELECT, INSERT, UPDATE, DELETE ON :"schema".parked_events TO :"role";

-- Leases: taken by upsert, renewed and released by UPDATE, locked FOR SHARE
-- by every page's fence (which needs UPDATE too); never deleted.
GRANT SELECT, INSERT, UPDATE ON :"schema".projection_leases TO :"role";

-- Whether the schema is current: `migrate`, run by `connect`, reads the
-- applied migrations and their checksums, and changes nothing when every
-- migration is there.
GRANT SELECT ON :"schema"._sqlx_migrations TO :"role";

-- The functions appends and feed reads call (`append_events` and those of
-- later migrations). PostgreSQL grants EXECUTE on a new function to PUBLIC,
-- unless that was revoked; these grants do not depend on it, and the
-- default privilege covers the functions the owner creates in the schema
-- from now on (later migrations). Functions run with the caller's
-- privileges (none is SECURITY DEFINER), so they can do no more than above.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA :"schema" TO :"role";
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT EXECUTE ON FUNCTIONS TO :"role";
