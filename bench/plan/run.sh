#!/usr/bin/env bash
# Benchmark P5: `pgphase plan` of 1,000 intents, writing included (release build).
#
#   bench/plan/run.sh [INTENTS]        (default 1000)
#
# Generates the intents with gen_intents.py (fixed seed) under $WORK (default
# $TMPDIR/pgphase-plan-bench), builds pgphase in release mode (scratch path .build-bench), then
# times, RUNS times each (7):
#   cold: `pgphase plan intents --out cold-N/plans` into a folder that does not exist yet (every
#         file written), and
#   warm: the same again over the plans the first cold run wrote (every file compared, none
#         written).
# Nothing is deleted while the runs are timed, and the runs start SETTLE seconds (default 65)
# after the previous run's folders were deleted and synced: on ext4 without a journal (this
# machine's), a new inode skips every inode deleted in the last 60 s (360 s while its inode-table
# block is not yet written back), so a run right after `rm -rf` of 6,000 files paid seconds of
# kernel time for the removal, not for its own writing.
# PGPHASE=path times that binary instead of building this checkout's.
# Prints, for each, the median and minimum wall time and the median CPU time (user + system),
# and the load average before and after (the machine may be shared).
set -euo pipefail
cd "$(dirname "$0")/../.."

count=${1:-1000}
runs=${RUNS:-7}
settle=${SETTLE:-65}
work=${WORK:-${TMPDIR:-/tmp}/pgphase-plan-bench}
mkdir -p "$work"
python3 bench/plan/gen_intents.py "$work/intents" "$count"

if [ -z "${PGPHASE:-}" ]; then
  swift build -c release --scratch-path .build-bench --product pgphase >/dev/null
  pgphase="$(swift build -c release --scratch-path .build-bench --show-bin-path)/pgphase"
else
  pgphase=$PGPHASE # another build to compare with, e.g. main's
fi
echo "pgphase: $pgphase"
echo "machine: $(nproc) CPUs, $(uname -sr), $(df -T "$work" | awk 'NR==2 {print $2}') file system at $work"

cd "$work"
rm -rf plans cold-*
sync
sleep "$settle"

measure() { # label, then the output folder of run N (N substituted for %)
  local label=$1 out=$2 rows=()
  for i in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -o "$work/time.txt" "$pgphase" plan intents --out "${out//%/$i}" >/dev/null
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
measure cold "cold-%/plans"
echo "files written: $(find cold-1/plans -type f | wc -l) in $(find cold-1/plans -mindepth 1 -maxdepth 1 -type d | wc -l) folders"
measure warm "cold-1/plans"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
