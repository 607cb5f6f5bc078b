#!/usr/bin/env bash
# What the feed's horizon costs a reader, and what reading it costs
# writers, on the server: four pgbench clients insert single events into
# one schema's events table while one client computes that schema's
# feed_horizon(pg_current_snapshot()) over and over, for each rule,
# interleaved round by round:
#
#   h5  migrations up to 0005 (every transaction of this database counts)
#   h6  all migrations (only transactions that write events count: pg_locks
#       and pg_xact_status)
#
# Prints, per rule, the medians over the rounds of the reader's and the
# writers' transactions per second.
#
#   bash benches/table_cost/horizon_cost.sh DATABASE_URL [rounds] [seconds]
#
# The script creates schemas factum_hc_h5 and factum_hc_h6 and drops them
# when it ends.
set -euo pipefail
url=${1:?usage: horizon_cost.sh DATABASE_URL [rounds] [seconds]}
rounds=${2:-3}
seconds=${3:-10}
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
work=$(mktemp -d)
rules="h5 h6"
cleanup() {
  [ -s "$work/errors" ] && grep -v "^pgbench (" "$work/errors" | sort | uniq -c | head -5 >&2
  for r in $rules; do sql -c "DROP SCHEMA IF EXISTS factum_hc_$r CASCADE" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for r in $rules; do
  if [ "$r" = h5 ]; then
    migrate "factum_hc_$r" "$migrations"/000[1-5]_*.sql
  else
    migrate "factum_hc_$r" "$migrations"/0*.sql
  fi
  sed -e "s/{table}/factum_hc_$r.events/" \
      -e "s/{columns}/stream_id, stream_version, event_id, event_type, payload_json, metadata, schema_version/" \
      -e "s/{extra}/, 1/" "$here/insert_one.sql" > "$work/insert-$r.sql"
  echo "SELECT factum_hc_$r.feed_horizon(pg_current_snapshot());" > "$work/horizon-$r.sql"
done

tps() { awk '/^tps/ {print int($3)}'; }

for round in $(seq "$rounds"); do
  for r in $rules; do
    sql -c "TRUNCATE factum_hc_$r.events"
    pgbench -n -M prepared -c 4 -j 2 -T "$seconds" -f "$work/insert-$r.sql" "$url" 2>>"$work/errors" \
      | tps > "$work/writers" &
    writers=$!
    reader=$(pgbench -n -M prepared -c 1 -T "$seconds" -f "$work/horizon-$r.sql" "$url" 2>>"$work/errors" | tps)
    wait "$writers"
    echo "$r $reader $(cat "$work/writers")" >> "$work/results"
  done
done

echo "feed_horizon under 4 inserting clients: $rounds rounds of $seconds s per rule, medians"
printf '  %-6s %14s %14s\n' rule "reader tps" "writers tps"
for r in $rules; do
  reader=$(awk -v r="$r" '$1 == r {print $2}' "$work/results" | median)
  writers=$(awk -v r="$r" '$1 == r {print $3}' "$work/results" | median)
  printf '  %-6s %14s %14s\n' "$r" "$reader" "$writers"
done
