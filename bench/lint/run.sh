#!/usr/bin/env bash
# Benchmark: `pgphase lint` against squawk on the same generated corpus, in the same run.
#
#   bench/lint/run.sh [FILES] [STATEMENTS_PER_FILE]     (default 500 files x 24 = 12,000+ statements)
#
# Generates the corpus under $TMPDIR/pgphase-lint-bench/corpus (see bench/lint/README.md),
# builds pgphase in release mode (scratch path .build-bench), and times both tools with
# hyperfine (apt-get install hyperfine) if present, else with a `date +%s%N` loop; reports the
# median of the runs and the ratio. squawk comes from `pip install squawk-cli` and is invoked as
# `squawk FILES...`. Both tools exit non-zero because the corpus has findings; that is expected.
set -euo pipefail
cd "$(dirname "$0")/../.."

files=${1:-500}
per_file=${2:-24}
runs=${RUNS:-7}
work=${TMPDIR:-/tmp}/pgphase-lint-bench
mkdir -p "$work"
corpus=$work/corpus
rm -rf "$corpus"
python3 bench/lint/gen_corpus.py "$corpus" "$files" "$per_file"

swift build -c release --scratch-path .build-bench --product pgphase >/dev/null
pgphase="$(swift build -c release --scratch-path .build-bench --show-bin-path)/pgphase"
command -v squawk >/dev/null || { echo "squawk not found: pip install squawk-cli" >&2; exit 2; }
# pyenv puts a shell shim first on PATH; time the real binary, not the shim.
squawk_bin=$(pyenv which squawk 2>/dev/null || command -v squawk)
squawk() { "$squawk_bin" "$@"; }
echo "pgphase: $pgphase"
echo "squawk:  $squawk_bin ($(squawk --version))"
echo "machine: $(nproc) CPUs, $(uname -sr)"

# Same inputs for both: every .sql file, in sorted order, on the command line.
mapfile -t sql_files < <(find "$corpus" -name '*.sql' | sort)
list="${sql_files[*]}"
pg_cmd="$pgphase lint --format json $list > /dev/null"
sq_cmd="$squawk_bin --reporter json $list > /dev/null"

# Sanity: both see findings.
echo "pgphase findings: $($pgphase lint --format json "${sql_files[@]}" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))' || true)"
echo "squawk findings:  $(squawk --reporter json "${sql_files[@]}" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' || true)"

if command -v hyperfine >/dev/null; then
  hyperfine --warmup 2 --runs "$runs" -i -N --export-json $work/results.json \
    -n pgphase "$pgphase lint --format json ${sql_files[*]}" \
    -n squawk "$squawk_bin --reporter json ${sql_files[*]}" >/dev/null
  python3 - "$work/results.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
pg, sq = r["pgphase"]["median"], r["squawk"]["median"]
print(f"pgphase median {pg*1000:.1f} ms (min {r['pgphase']['min']*1000:.1f})")
print(f"squawk  median {sq*1000:.1f} ms (min {r['squawk']['min']*1000:.1f})")
print(f"ratio pgphase/squawk = {pg/sq:.2f} ({'pgphase faster' if pg < sq else 'squawk faster'})")
PY
else
  median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  time_it() { for _ in $(seq "$runs"); do s=$(date +%s%N); eval "$1" || true; e=$(date +%s%N); echo $(((e - s) / 1000000)); done | median; }
  pg=$(time_it "$pg_cmd"); sq=$(time_it "$sq_cmd")
  echo "pgphase median ${pg} ms; squawk median ${sq} ms; ratio $(awk "BEGIN {printf \"%.2f\", $pg/$sq}")"
fi
