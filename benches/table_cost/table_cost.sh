#!/usr/bin/env bash
# What each part of factum's events table costs an insert, measured on the
# server: pgbench runs the same INSERT (no version check) into the plain
# baseline table, factum's table as migrations/postgres makes it, and that
# table with one part taken away at a time, interleaved round by round.
# Prints, per table, the median over the rounds of the transactions per
# second and of the server's mean execution time per statement
# (pg_stat_statements).
#
#   bash benches/table_cost/table_cost.sh DATABASE_URL [rounds] [seconds]
#
# The server needs pg_stat_statements in shared_preload_libraries (see
# benches/README.md for a throwaway cluster that has it). The script creates
# schemas named factum_tc_* and drops them when it ends.
set -euo pipefail
url=${1:?usage: table_cost.sh DATABASE_URL [rounds] [seconds]}
rounds=${2:-3}
seconds=${3:-5}
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
work=$(mktemp -d)
variants="plain full own_commit_id no_type_index no_position_index no_checks bare"
cleanup() {
  for v in $variants; do sql -c "DROP SCHEMA IF EXISTS factum_tc_$v CASCADE" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

sql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
for v in $variants; do
  if [ "$v" = plain ]; then
    sql -c "DROP SCHEMA IF EXISTS factum_tc_plain CASCADE; CREATE SCHEMA factum_tc_plain"
    sed "s/{schema}/factum_tc_plain/g" "$here/../workloads/baseline/plain_tables.sql" | sql
  else
    migrate "factum_tc_$v" "$migrations"/*.sql
  fi
done
sql -f "$here/variants.sql" >/dev/null

table_of() {
  if [ "$1" = plain ]; then echo factum_tc_plain.plain_events; else echo "factum_tc_$1.events"; fi
}

# The pgbench script of one statement shape on one table.
script() {
  local shape=$1 v=$2 table columns extra
  table=$(table_of "$v")
  if [ "$v" = plain ]; then
    columns="stream_id, version, event_id, event_type, payload, metadata"
    extra=""
  else
    columns="stream_id, stream_version, event_id, event_type, payload_json, metadata, schema_version"
    extra=", 1"
  fi
  sed -e "s/{table}/$table/" -e "s/{columns}/$columns/" -e "s/{extra}/$extra/" \
    "$here/$shape.sql" > "$work/$shape-$v.sql"
  echo "$work/$shape-$v.sql"
}


for shape in insert_one insert_ten; do
  for round in $(seq "$rounds"); do
    for v in $variants; do
      sql -c "TRUNCATE $(table_of "$v")"
      sql -c "SELECT pg_stat_statements_reset()" >/dev/null
      file=$(script "$shape" "$v")
      tps=$(pgbench -n -M prepared -c 1 -T "$seconds" -f "$file" "$url" 2>/dev/null \
        | awk '/^tps/ {print int($3)}')
      exec_us=$(sql -c "SELECT round((mean_exec_time * 1000)::numeric, 1)
                        FROM pg_stat_statements
                        WHERE query LIKE 'INSERT INTO factum_tc_$v.%' ORDER BY calls DESC LIMIT 1")
      echo "$v $tps $exec_us" >> "$work/$shape.results"
    done
  done
  echo "$shape: $rounds rounds of $seconds s per table, medians"
  printf '  %-20s %10s %14s\n' table "tps" "exec us/stmt"
  for v in $variants; do
    tps=$(awk -v v="$v" '$1 == v {print $2}' "$work/$shape.results" | median)
    ex=$(awk -v v="$v" '$1 == v {print $3}' "$work/$shape.results" | median)
    printf '  %-20s %10s %14s\n' "$v" "$tps" "$ex"
  done
done
