#!/usr/bin/env bash
# Benchmark P2: app writes (pgbench at a fixed rate) on a ROWS-row table while it is migrated
# (alter_column int -> bigint + an index), three ways, one after the other on fresh copies:
#   baseline  no migration
#   pgphase   pgphase apply expand, backfill, contract (lock_timeout 2s, batched backfill, CIC)
#   naive     one transaction: ALTER TABLE ... ALTER COLUMN ... TYPE bigint; CREATE INDEX ...
#
#   PGPHASE_BIN=/work/.build-b/debug/pgphase scripts/with-pg bench/pgbench/run.sh
#
# Env: ROWS (5000000), RATE (tps, 100), DURATION (s per scenario, 150), START (s before the
# migration starts, 10), CLIENTS (4). Needs psql, pgbench, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rows=${ROWS:-5000000}
rate=${RATE:-100}
duration=${DURATION:-150}
start=${START:-10}
clients=${CLIENTS:-4}
bin=${PGPHASE_BIN:-$here/../../.build/release/pgphase}
out=${OUT:-$(mktemp -d /tmp/pgphase-bench-pgbench.XXXXXX)}
q() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }

echo "setup: template with $rows rows" >&2
q -d postgres -c "DROP DATABASE IF EXISTS bench_tpl" -c "CREATE DATABASE bench_tpl"
q -d bench_tpl <<SQL
CREATE TABLE acct (id bigint PRIMARY KEY, amount int NOT NULL, note text NOT NULL);
INSERT INTO acct SELECT g, ((g::bigint * 7919) % 1000000)::int, 'note ' || g FROM generate_series(1, $rows) g;
CREATE SEQUENCE acct_ins START 100000000;
VACUUM ANALYZE acct;
SQL
"$bin" plan "$here/intents" --out "$out/plans" >/dev/null

scenario() {
  local name=$1 db=bench_$1
  q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE bench_tpl"
  q -d "$db" -c "CHECKPOINT"
  mkdir -p "$out/$name"
  echo "== $name: pgbench -R $rate -T $duration" >&2
  pgbench -n -d "$db" -c "$clients" -j 2 -R "$rate" -T "$duration" -D rows="$rows" \
    -f "$here/update.sql@8" -f "$here/insert.sql@2" -l --log-prefix="$out/$name/tx" \
    >"$out/$name/pgbench.txt" 2>"$out/$name/pgbench.err" &
  local pgb=$!
  sleep "$start"
  local t0 t1
  t0=$(date +%s.%N)
  case $name in
    baseline) ;;
    pgphase)
      for phase in expand backfill contract; do
        PGDATABASE=$db "$bin" apply --phase "$phase" --progress-interval 30s "$out/plans" >>"$out/$name/migration.log" 2>&1
      done
      ;;
    naive) q -d "$db" -f "$here/naive.sql" >>"$out/$name/migration.log" 2>&1 ;;
  esac
  t1=$(date +%s.%N)
  echo "$t0 $t1" >"$out/$name/window"
  wait $pgb || true
  local type
  type=$(q -d "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'acct'::regclass AND attname = 'amount'")
  echo "$type" >"$out/$name/amount_type"
}

for s in baseline pgphase naive; do scenario "$s"; done

python3 "$here/report.py" "$out"
echo "logs: $out" >&2
