#!/usr/bin/env bash
# Benchmark P5: `pgphase plan` of 1,000 intents, writing included (release build).
#
#   bench/plan/run.sh [INTENTS]        (default 1000)
#
# Generates the intents with gen_intents.py (fixed seed) under $TMPDIR/pgphase-plan-bench,
# builds pgphase in release mode (scratch path .build-bench), then times, RUNS times each (7):
#   cold: `pgphase plan intents --out plans` into an empty plans/ (every file written), and
#   warm: the same again over the plans it wrote (every file compared, none written).
# Prints the median and minimum wall time of each and the CPU time of one cold run.
set -euo pipefail
cd "$(dirname "$0")/../.."

count=${1:-1000}
runs=${RUNS:-7}
work=${TMPDIR:-/tmp}/pgphase-plan-bench
mkdir -p "$work"
python3 bench/plan/gen_intents.py "$work/intents" "$count"

swift build -c release --scratch-path .build-bench --product pgphase >/dev/null
pgphase="$(swift build -c release --scratch-path .build-bench --show-bin-path)/pgphase"
echo "pgphase: $pgphase"
echo "machine: $(nproc) CPUs, $(uname -sr), $(df -T "$work" | awk 'NR==2 {print $2}') file system"

cd "$work"
"$pgphase" plan intents --out plans >/dev/null   # sanity: it plans
echo "files written: $(find plans -type f | wc -l) in $(find plans -mindepth 1 -maxdepth 1 -type d | wc -l) folders"

measure() { # label, then whether to empty plans/ first
  local label=$1 fresh=$2 times=()
  for _ in $(seq "$runs"); do
    [ "$fresh" = 1 ] && rm -rf plans
    local start end
    start=$(date +%s%N)
    "$pgphase" plan intents --out plans >/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { t[NR] = $1 } END { printf "%-5s median %d ms, min %d ms (%d runs)\n", label, t[int((NR + 1) / 2)], t[1], NR }'
}
measure cold 1
measure warm 0
rm -rf plans
/usr/bin/time -f "cold CPU: %U s user, %S s system, %e s wall, max RSS %M KB" "$pgphase" plan intents --out plans >/dev/null
