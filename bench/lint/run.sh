#!/usr/bin/env bash
# Benchmark: `pgphase lint` against squawk on the same corpora, in the same run.
#
#   bench/lint/run.sh [FILES] [STATEMENTS_PER_FILE] [REAL_SCALE]
#       (defaults: synthetic 500 files x 24 statements; real-shaped corpus at scale 1 = 2,000 files)
#
# Two corpora, both under $TMPDIR/pgphase-lint-bench (see bench/lint/README.md):
#   synthetic/  gen_corpus.py: 500 long files of mixed DDL and DML (12,000+ statements)
#   real/       gen_real_corpus.py: 2,000 small files in the layouts and styles Prisma, Rails,
#               Diesel and Flyway write (CREATE TABLE with many columns, comments, quoted names)
# Builds pgphase in release mode (scratch path .build-bench) and times both tools with hyperfine
# (apt-get install hyperfine) if present, else with a `date +%s%N` loop; reports the medians and
# the ratio for each corpus. squawk comes from `pip install squawk-cli` (a binary wheel) and is
# run as `squawk --reporter json FILES...`; SQUAWK=/path/to/squawk picks another binary. Both tools
# exit non-zero because the corpora have findings; that is expected. Paths are passed relative to
# the corpus folder (2,000 absolute paths exceed Linux's 128 KiB limit for one argument string).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

files=${1:-500}
per_file=${2:-24}
real_scale=${3:-1}
runs=${RUNS:-7}
work=${TMPDIR:-/tmp}/pgphase-lint-bench
mkdir -p "$work"
rm -rf "$work/synthetic" "$work/real"
python3 bench/lint/gen_corpus.py "$work/synthetic" "$files" "$per_file"
python3 bench/lint/gen_real_corpus.py "$work/real" "$real_scale"

swift build -c release --scratch-path .build-bench --product pgphase >/dev/null
pgphase="$(swift build -c release --scratch-path .build-bench --show-bin-path)/pgphase"
if [ -n "${SQUAWK:-}" ]; then
  squawk_bin=$SQUAWK
else
  command -v squawk >/dev/null || { echo "squawk not found: pip install squawk-cli (or SQUAWK=/path/to/squawk)" >&2; exit 2; }
  # pyenv puts a shell shim first on PATH; time the real binary, not the shim.
  squawk_bin=$(pyenv which squawk 2>/dev/null || command -v squawk)
fi
echo "pgphase: $pgphase"
echo "squawk:  $squawk_bin ($("$squawk_bin" --version))"
echo "machine: $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"

bench() {
  local name=$1 dir=$2
  cd "$dir"
  mapfile -t sql_files < <(find . -name '*.sql' | sed 's|^\./||' | sort)
  echo
  echo "== $name corpus: ${#sql_files[@]} files, $(cat "${sql_files[@]}" | wc -l) lines"
  # Sanity: both see findings.
  echo "pgphase findings: $("$pgphase" lint --format json "${sql_files[@]}" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))' || true)"
  echo "squawk findings:  $("$squawk_bin" --reporter json "${sql_files[@]}" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' || true)"
  if command -v hyperfine >/dev/null; then
    hyperfine --warmup 2 --runs "$runs" -i -N --export-json "$work/$name.json" \
      -n pgphase "$pgphase lint --format json ${sql_files[*]}" \
      -n squawk "$squawk_bin --reporter json ${sql_files[*]}" >/dev/null
    python3 - "$work/$name.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
pg, sq = r["pgphase"], r["squawk"]
for name, x in (("pgphase", pg), ("squawk", sq)):
    print(f"{name:8} median {x['median']*1000:7.1f} ms (min {x['min']*1000:.1f}, user {x['user']*1000:.1f} ms, system {x['system']*1000:.1f} ms)")
print(f"ratio pgphase/squawk = {pg['median']/sq['median']:.2f} (CPU time ratio {(pg['user']+pg['system'])/(sq['user']+sq['system']):.2f})")
PY
  else
    median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    time_it() { for _ in $(seq "$runs"); do s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(((e - s) / 1000000)); done | median; }
    pg=$(time_it "$pgphase" lint --format json "${sql_files[@]}")
    sq=$(time_it "$squawk_bin" --reporter json "${sql_files[@]}")
    echo "pgphase median ${pg} ms; squawk median ${sq} ms; ratio $(awk "BEGIN {printf \"%.2f\", $pg/$sq}")"
  fi
  cd "$repo"
}

bench synthetic "$work/synthetic"
bench real "$work/real"
