#!/usr/bin/env bash
# Benchmark P5: `pgphase plan` of 1,000 intents, writing included (release build).
#
#   bench/plan/run.sh [INTENTS]        (default 1000)
#
# Generates the intents with gen_intents.py (fixed seed) under $TMPDIR/pgphase-plan-bench,
# builds pgphase in release mode (scratch path .build-bench), then times, RUNS times each (7):
#   cold: `pgphase plan intents --out plans` into an empty plans/ (every file written), and
#   warm: the same again over the plans it wrote (every file compared, none written).
# Before each cold run the previous plans/ is removed and `sync` waits for that removal's
# writeback, outside the timed region, so a run is not charged for the one before it.
# Prints, for each, the median and minimum wall time and the median CPU time (user + system),
# and the load average before and after (the machine may be shared).
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
  local label=$1 fresh=$2 rows=()
  for _ in $(seq "$runs"); do
    if [ "$fresh" = 1 ]; then rm -rf plans && sync; fi
    /usr/bin/time -f "%e %U %S" -o "$work/time.txt" "$pgphase" plan intents --out plans >/dev/null
    rows+=("$(cat "$work/time.txt")")
  done
  printf '%s\n' "${rows[@]}" | awk -v label="$label" '
    { wall[NR] = $1; cpu[NR] = $2 + $3; user[NR] = $2; sys[NR] = $3 }
    function median(a, n,   i, j, t, b) {
      for (i = 1; i <= n; i++) b[i] = a[i]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
      return b[int((n + 1) / 2)]
    }
    function minimum(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
    END {
      printf "%-5s wall median %.2f s, min %.2f s | CPU median %.2f s (user %.2f s, system %.2f s) (%d runs)\n",
        label, median(wall, NR), minimum(wall, NR), median(cpu, NR), median(user, NR), median(sys, NR), NR
    }'
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure cold 1
measure warm 0
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
