#!/usr/bin/env bash
# Times CREATE INDEX CONCURRENTLY on a 5M-row table through `pgphase apply` and directly through
# psql, alternating, RUNS times each, on a throwaway server started with scripts/with-pg.
# Prints each run, the medians and the overhead ratio (pgphase / psql; target <= 1.05).
#
#   bench/cic/run.sh [RUNS]          RUNS defaults to 5; ROWS (default 5000000) sizes the table.
#   PGPHASE_BIN=path bench/cic/run.sh   use that pgphase binary (default: build release).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5}
rows=${ROWS:-5000000}

if [ -z "${PGPHASE_BENCH_INNER:-}" ]; then
  if [ -z "${PGPHASE_BIN:-}" ]; then
    (cd "$root" && swift build -c release --product pgphase --scratch-path "${SCRATCH:-$root/.build}" >&2)
    PGPHASE_BIN="${SCRATCH:-$root/.build}/release/pgphase"
  fi
  export PGPHASE_BIN PGPHASE_BENCH_INNER=1
  # Its own server, on its own port so it can run beside the test servers.
  export PGPHASE_TEST_PORT=${PGPHASE_TEST_PORT:-54391}
  exec "$root/scripts/with-pg" "$0" "$@"
fi

work=$(mktemp -d /tmp/pgphase-bench-cic.XXXXXX)
trap 'rm -rf "$work"' EXIT
psql_() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE DATABASE bench"
export PGDATABASE=bench

echo "bench/cic: $rows rows, $runs runs each, pgphase $PGPHASE_BIN" >&2
psql_ -c "CREATE TABLE bench AS SELECT g AS id, ((g::int8 * 7919) % 1000003)::int AS v, now() AS at FROM generate_series(1, $rows) g"
psql_ -c "VACUUM ANALYZE bench"

mkdir -p "$work/plans/bench_cic"
cat > "$work/plans/bench_cic/plan.json" <<'JSON'
{
  "format": 1,
  "intent": "bench_cic",
  "source": "bench/cic/run.sh",
  "lock_timeout": "3s",
  "phases": [
    {"phase": "expand", "steps": [{
      "id": "expand/01-create-index-bench-v-idx", "phase": "expand", "change": 1, "operation": "create_index",
      "summary": "Build index bench_v_idx concurrently", "transactional": false, "cost": "scan-no-write-block",
      "sql": ["CREATE INDEX CONCURRENTLY bench_v_idx ON bench (v)"],
      "locks": [{"mode": "SHARE UPDATE EXCLUSIVE", "relation": {"name": "bench"}}],
      "undo": {"sql": ["DROP INDEX CONCURRENTLY IF EXISTS bench_v_idx"], "transactional": false},
      "postconditions": [{"kind": "index_exists", "object": {"name": "bench_v_idx"}, "table": {"name": "bench"},
        "unique": false, "valid": true}]
    }]},
    {"phase": "backfill", "steps": []},
    {"phase": "contract", "steps": []}
  ]
}
JSON

reset() {
  psql_ -c "DROP INDEX IF EXISTS bench_v_idx" -c "DO \$\$ BEGIN IF to_regclass('pgphase.steps') IS NOT NULL THEN DELETE FROM pgphase.steps; DELETE FROM pgphase.intents; END IF; END \$\$" -c "CHECKPOINT"
}
now() { date +%s.%N; }

# One warm-up build each way (caches, the journal schema), not counted.
reset
"$PGPHASE_BIN" apply --phase expand --progress-interval 60s "$work/plans" >/dev/null 2>&1
reset
psql_ -c "CREATE INDEX CONCURRENTLY bench_v_idx ON bench (v)"

: >"$work/pgphase.txt"
: >"$work/psql.txt"
for i in $(seq 1 "$runs"); do
  # Alternate which goes first, so drift in the machine's load does not favour one.
  order=("pgphase" "psql")
  if [ $((i % 2)) -eq 0 ]; then order=("psql" "pgphase"); fi
  for tool in "${order[@]}"; do
    reset
    start=$(now)
    if [ "$tool" = pgphase ]; then
      "$PGPHASE_BIN" apply --phase expand --progress-interval 60s "$work/plans" >/dev/null 2>"$work/err" ||
        { cat "$work/err" >&2; exit 1; }
    else
      psql_ -c "CREATE INDEX CONCURRENTLY bench_v_idx ON bench (v)"
    fi
    end=$(now)
    valid=$(psql -X -At -c "SELECT indisvalid FROM pg_index WHERE indexrelid = 'bench_v_idx'::regclass")
    [ "$valid" = t ] || { echo "bench_v_idx is not valid after $tool" >&2; exit 1; }
    t=$(echo "$end - $start" | bc -l)
    echo "$t" >>"$work/$tool.txt"
    printf 'run %d %-8s %.3fs\n' "$i" "$tool" "$t"
  done
done

# pgphase's fixed cost: the same apply when a valid index of that definition is already there
# (runner lock, journal, catalog checks, definition probe; no build).
: >"$work/fixed.txt"
for i in $(seq 1 "$runs"); do
  psql_ -c "DELETE FROM pgphase.steps" -c "DELETE FROM pgphase.intents"
  start=$(now)
  "$PGPHASE_BIN" apply --phase expand --progress-interval 60s "$work/plans" >"$work/out" 2>&1
  end=$(now)
  grep -q "already complete in the catalog" "$work/out" || { cat "$work/out" >&2; exit 1; }
  echo "$end - $start" | bc -l >>"$work/fixed.txt"
done

median() { sort -g "$1" | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'; }
mp=$(median "$work/pgphase.txt")
mq=$(median "$work/psql.txt")
printf 'median pgphase %.3fs\nmedian psql    %.3fs\noverhead ratio %.3f (target <= 1.05)\n' "$mp" "$mq" "$(echo "$mp / $mq" | bc -l)"
# Each run's pgphase/psql pair ran back to back: the median of their ratios cancels slow drift
# in the machine's load better than the ratio of the medians.
paste "$work/pgphase.txt" "$work/psql.txt" | awk '{print $1 / $2}' >"$work/ratios.txt"
printf 'median of per-run ratios %.3f\n' "$(median "$work/ratios.txt")"
printf 'pgphase fixed cost (index already there, no build): median %.3fs\n' "$(median "$work/fixed.txt")"
