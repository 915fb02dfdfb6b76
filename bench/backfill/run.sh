#!/usr/bin/env bash
# Benchmark P1: pgphase's batched backfill of a ROWS-row table vs one UPDATE of an identical table.
#
#   swift build -c release --scratch-path /work/.build-b   # or any build; set PGPHASE_BIN
#   PGPHASE_BIN=/work/.build-b/release/pgphase scripts/with-pg bench/backfill/run.sh
#
# Each round copies one template database (the table after expand: shadow column and sync
# trigger, vacuumed and analyzed) three times and times, on the copies, in an order that
# alternates between rounds:
#   raw      one UPDATE with the sync trigger disabled: the physical limit of rewriting every row;
#   ref      the same UPDATE with the trigger firing: the same work in a single statement;
#   pgphase  pgphase apply --phase backfill (the whole command: start, journal, batches, checks).
# A shared 2-core machine drifts by 20% over minutes, so one pair of timings says little; the
# ratios are per round (the three runs of a round are within about a minute) and their median.
#
# Env: ROWS (default 5000000), ROUNDS (default 3), BATCH_TARGET (default 100ms), FRESH=1 (the table
# as just bulk-loaded: no VACUUM, no ANALYZE, autovacuum off unless T_AUTOVACUUM=on),
# PGPHASE_BIN (default: .build/release/pgphase), T_AUTOVACUUM (default on: autovacuum may run on
# the table pgphase migrates, as in production; off to isolate). OUT keeps the batch logs.
# Needs psql and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rows=${ROWS:-5000000}
rounds=${ROUNDS:-3}
target=${BATCH_TARGET:-100ms}
bin=${PGPHASE_BIN:-$here/../../.build/release/pgphase}
out=${OUT:-$(mktemp -d /tmp/pgphase-bench-backfill.XXXXXX)}
mkdir -p "$out"
tmpl=bench_backfill_tmpl
q() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
timed() { local s e; s=$(now); "$@" >&2; e=$(now); python3 -c "print(f'{$e - $s:.2f}')"; }
fresh() { # fresh DB: a file copy of the template, then a checkpoint so no dirty page is left over
  q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 TEMPLATE $tmpl STRATEGY FILE_COPY"
  q -d "$1" -c "CHECKPOINT"
}

echo "setup: $rows rows" >&2
q -d postgres -c "DROP DATABASE IF EXISTS $tmpl" -c "CREATE DATABASE $tmpl"
q -d $tmpl <<SQL
CREATE TABLE t (id bigint PRIMARY KEY, amount int, note text NOT NULL);
INSERT INTO t SELECT g, ((g::bigint * 7919) % 1000000)::int, 'note ' || g FROM generate_series(1, $rows) g;
SQL
"$bin" plan "$here/intents" --out "$out/plans" >/dev/null
PGDATABASE=$tmpl "$bin" apply --phase expand "$out/plans" >&2
trigger=$(q -d $tmpl -c "SELECT tgname FROM pg_trigger WHERE tgrelid = 't'::regclass AND NOT tgisinternal")
# The copies' millions of dead rows must not start autovacuum workers that compete with the next
# measurement on a small machine: off for the baselines, T_AUTOVACUUM for pgphase's table.
if [ "${FRESH:-0}" = 1 ]; then
  # As a backfill often meets a table: just bulk-loaded, never vacuumed or analyzed (no visibility
  # map, no hint bits, no statistics). Autovacuum stays off (T_AUTOVACUUM) so it cannot vacuum the
  # copies in the middle of a run.
  q -d $tmpl -c "ALTER TABLE t SET (autovacuum_enabled = ${T_AUTOVACUUM:-off})" -c "CHECKPOINT"
else
  q -d $tmpl -c "ALTER TABLE t SET (autovacuum_enabled = ${T_AUTOVACUUM:-on})" -c "VACUUM ANALYZE t" -c "CHECKPOINT"
fi
sync # the set-up's dirty pages would otherwise be written back during the first round

update="UPDATE t SET _pgphase_new_amount = (amount::bigint)"
run_raw() {
  fresh bench_raw
  q -d bench_raw -c "ALTER TABLE t SET (autovacuum_enabled = off)" -c "ALTER TABLE t DISABLE TRIGGER $trigger"
  timed q -d bench_raw -c "$update"
}
run_ref() {
  fresh bench_ref
  q -d bench_ref -c "ALTER TABLE t SET (autovacuum_enabled = off)"
  timed q -d bench_ref -c "$update"
}
run_pgphase() {
  fresh bench_pg
  rm -f "$out/batches-$1.tsv"
  PGDATABASE=bench_pg timed "$bin" apply --phase backfill --batch-target "$target" \
    --batch-log "$out/batches-$1.tsv" --progress-interval 10s "$out/plans"
}

: >"$out/rounds.tsv"
for r in $(seq 1 "$rounds"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "round $r of $rounds (load average $load)" >&2
  if [ $((r % 2)) -eq 1 ]; then
    raw=$(run_raw); pg=$(run_pgphase "$r"); ref=$(run_ref)
  else
    ref=$(run_ref); pg=$(run_pgphase "$r"); raw=$(run_raw)
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$raw" "$ref" "$pg" "$load" >>"$out/rounds.tsv"
  echo "round $r: raw UPDATE ${raw}s, UPDATE with trigger ${ref}s, pgphase ${pg}s" >&2
done

# The last copies: nothing pending, and pgphase's result equals the one UPDATE's, row for row.
left=$(q -d bench_pg -c "SELECT count(*) FROM t WHERE _pgphase_new_amount IS DISTINCT FROM amount::bigint")
digest="SELECT md5(string_agg(id || ':' || _pgphase_new_amount, ',' ORDER BY id)) FROM t"
same=$([ "$(q -d bench_pg -c "$digest")" = "$(q -d bench_ref -c "$digest")" ] && echo t || echo f)

python3 - "$out" "$rows" "$left" "$same" "${FRESH:-0}" <<'PY'
import glob, statistics, sys
out, rows, left, same, fresh = sys.argv[1:]
rounds = [l.rstrip("\n").split("\t") for l in open(f"{out}/rounds.tsv") if l.strip()]
batches = [l.split('\t') for f in sorted(glob.glob(f"{out}/batches-*.tsv")) for l in open(f) if l.strip()]
ms = sorted(float(b[2]) for b in batches)
p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
print(f"rows {int(rows)}, {len(rounds)} rounds (times in s){', table freshly loaded, not vacuumed' if fresh == '1' else ''}")
print("round   raw UPDATE   UPDATE+trigger   pgphase   pgphase/raw   pgphase/UPDATE+trigger   load")
raw_r, ref_r = [], []
for r, raw, ref, pg, load in rounds:
    raw, ref, pg = float(raw), float(ref), float(pg)
    raw_r.append(pg / raw); ref_r.append(pg / ref)
    print(f"{r:>5} {raw:>12.2f} {ref:>16.2f} {pg:>9.2f} {pg / raw:>13.2f} {pg / ref:>24.2f} {load:>6}")
print(f"median ratio pgphase / raw UPDATE        {statistics.median(raw_r):.2f}   (target <= 1.10)")
print(f"median ratio pgphase / UPDATE+trigger    {statistics.median(ref_r):.2f}")
sizes = sorted(int(b[1]) for b in batches)
print(f"batches {len(ms)} in all rounds, median {sizes[len(sizes) // 2]} rows updated per batch")
print(f"batch ms p50 / p99 / max    {p(0.5):.1f} / {p(0.99):.1f} / {ms[-1]:.1f}   (target p99 <= 200, max <= 500)")
print(f"rows left pending           {left}")
print(f"pgphase's t equals the UPDATE's t: {same}")
PY
echo "rounds and batch logs: $out" >&2
