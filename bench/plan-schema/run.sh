#!/usr/bin/env bash
# Benchmark P6: `pgphase plan --schema` of 100 intents over a schema of 1,000 tables (release build).
#
#   bench/plan-schema/run.sh [TABLES] [INTENTS]        (default 1000 tables, 100 intents)
#
# Generates the schema and intents with gen.py (fixed seed) under $TMPDIR/pgphase-plan-schema-bench,
# builds pgphase in release mode (scratch path .build-bench), then times RUNS times each (7):
#   schema: `pgphase plan --schema schema.sql intents --out plans` into an empty plans/, and
#   check:  the same with --check over the plans it wrote (nothing written).
# Prints the median and minimum wall time of each and the CPU time of one run.
set -euo pipefail
cd "$(dirname "$0")/../.."

tables=${1:-1000}
intents=${2:-100}
runs=${RUNS:-7}
work=${TMPDIR:-/tmp}/pgphase-plan-schema-bench
mkdir -p "$work"
python3 bench/plan-schema/gen.py "$work" "$tables" "$intents"

swift build -c release --scratch-path .build-bench --product pgphase >/dev/null
pgphase="$(swift build -c release --scratch-path .build-bench --show-bin-path)/pgphase"
echo "pgphase: $pgphase"
echo "machine: $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "schema.sql: $(wc -c <"$work/schema.sql") bytes, $(wc -l <"$work/schema.sql") lines"

cd "$work"
"$pgphase" plan --schema schema.sql intents --out plans >/dev/null   # sanity: it plans
echo "files written: $(find plans -type f | wc -l) in $(find plans -mindepth 1 -maxdepth 1 -type d | wc -l) folders"

measure() { # label, then the arguments after `pgphase plan`
  local label=$1 times=()
  shift
  for _ in $(seq "$runs"); do
    [ "$label" = schema ] && rm -rf plans
    local start end
    start=$(date +%s%N)
    "$pgphase" plan "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { t[NR] = $1 } END { printf "%-6s median %d ms, min %d ms (%d runs)\n", label, t[int((NR + 1) / 2)], t[1], NR }'
}
measure schema --schema schema.sql intents --out plans
measure check --schema schema.sql intents --out plans --check
rm -rf plans
/usr/bin/time -f "one run: %U s user, %S s system, %e s wall, max RSS %M KB" \
  "$pgphase" plan --schema schema.sql intents --out plans >/dev/null
