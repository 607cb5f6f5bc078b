# What the scripts of this folder share; sourced after they have set
# `url`. Needs bash with `set -euo pipefail`.

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
migrations="$here/../../migrations/postgres"

# Runs psql on the server, quietly, stopping at the first error.
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$url" "$@"; }

# The median of the numbers on standard input, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# migrate SCHEMA FILE...: creates SCHEMA afresh and applies the migration
# files to it. Each round of a benchmark starts from an empty table: the
# trigger that forbids TRUNCATE is disabled (it fires on TRUNCATE only,
# never on INSERT).
migrate() {
  local schema=$1
  shift
  sql -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema"
  (echo "SET search_path TO $schema;"; cat "$@"
   echo "ALTER TABLE events DISABLE TRIGGER events_are_not_truncated;") | sql >/dev/null
}
