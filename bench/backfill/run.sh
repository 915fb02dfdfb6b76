#!/usr/bin/env bash
# Benchmark P1: pgphase's batched backfill of a ROWS-row table vs one UPDATE of an identical table.
#
#   swift build -c release --scratch-path /work/.build-b   # or any build; set PGPHASE_BIN
#   PGPHASE_BIN=/work/.build-b/release/pgphase scripts/with-pg bench/backfill/run.sh
#
# Env: ROWS (default 5000000), BATCH_TARGET (default 100ms), PGPHASE_BIN (default: .build/release/pgphase),
# T_AUTOVACUUM (default on: autovacuum may run on the migrated table, as in production; off to isolate).
# Needs psql and python3. Prints a summary; keeps the batch log in $OUT (default: a temp dir).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rows=${ROWS:-5000000}
target=${BATCH_TARGET:-100ms}
bin=${PGPHASE_BIN:-$here/../../.build/release/pgphase}
out=${OUT:-$(mktemp -d /tmp/pgphase-bench-backfill.XXXXXX)}
db=bench_backfill
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
export PGDATABASE=$db
q() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

echo "setup: $rows rows" >&2
q <<SQL
CREATE TABLE t (id bigint PRIMARY KEY, amount int, note text NOT NULL);
INSERT INTO t SELECT g, ((g::bigint * 7919) % 1000000)::int, 'note ' || g FROM generate_series(1, $rows) g;
SQL
"$bin" plan "$here/intents" --out "$out/plans" >/dev/null
"$bin" apply --phase expand "$out/plans" >&2
fn=$(q -c "SELECT tgfoid::regproc FROM pg_trigger WHERE tgrelid = 't'::regclass AND NOT tgisinternal")
# t_ref: identical to t after expand (same columns, index and sync trigger): one UPDATE, same work.
# t_raw: the same without the trigger: the physical limit of rewriting every row once.
q <<SQL
CREATE TABLE t_ref (LIKE t INCLUDING ALL);
INSERT INTO t_ref SELECT * FROM t;
CREATE TRIGGER sync BEFORE INSERT OR UPDATE ON t_ref FOR EACH ROW EXECUTE FUNCTION $fn();
CREATE TABLE t_raw (LIKE t INCLUDING ALL);
INSERT INTO t_raw SELECT * FROM t;
-- The baselines' millions of dead rows must not start autovacuum workers that compete with the
-- pgphase run on a small machine; t keeps the default, as in production.
ALTER TABLE t_ref SET (autovacuum_enabled = off);
ALTER TABLE t_raw SET (autovacuum_enabled = off);
ALTER TABLE t SET (autovacuum_enabled = ${T_AUTOVACUUM:-on});
VACUUM ANALYZE t; VACUUM ANALYZE t_ref; VACUUM ANALYZE t_raw;
CHECKPOINT;
SQL

timed() { local s e; s=$(now); "$@" >&2; e=$(now); python3 -c "print(f'{$e - $s:.2f}')"; }
echo "one UPDATE of t_ref (with the sync trigger)" >&2
ref=$(timed q -c "UPDATE t_ref SET _pgphase_new_amount = (amount::bigint)")
q -c "CHECKPOINT"
echo "one UPDATE of t_raw (no trigger)" >&2
raw=$(timed q -c "UPDATE t_raw SET _pgphase_new_amount = (amount::bigint)")
q -c "CHECKPOINT"
echo "pgphase apply --phase backfill --batch-target $target" >&2
rm -f "$out/batches.tsv"
pg=$(timed "$bin" apply --phase backfill --batch-target "$target" --batch-log "$out/batches.tsv" --progress-interval 10s "$out/plans")
left=$(q -c "SELECT count(*) FROM t WHERE _pgphase_new_amount IS DISTINCT FROM amount::bigint")
same=$(q -c "SELECT (SELECT md5(string_agg(id || ':' || _pgphase_new_amount, ',' ORDER BY id)) FROM t) = (SELECT md5(string_agg(id || ':' || _pgphase_new_amount, ',' ORDER BY id)) FROM t_ref)")

python3 - "$out/batches.tsv" "$rows" "$ref" "$raw" "$pg" "$left" "$same" <<'PY'
import sys, statistics
path, rows, ref, raw, pg, left, same = sys.argv[1:]
ms = sorted(float(l.split('\t')[2]) for l in open(path) if l.strip())
sizes = [int(l.split('\t')[0]) for l in open(path) if l.strip()]
p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
ref, raw, pg = float(ref), float(raw), float(pg)
print(f"rows                          {int(rows):>10}")
print(f"one UPDATE, same trigger      {ref:>10.2f} s")
print(f"one UPDATE, no trigger        {raw:>10.2f} s")
print(f"pgphase backfill (whole cmd)  {pg:>10.2f} s")
print(f"ratio pgphase / UPDATE+trigger {pg / ref:>9.2f}   (target <= 1.25)")
print(f"ratio pgphase / UPDATE raw    {pg / raw:>10.2f}")
print(f"batches                       {len(ms):>10}   (median size {int(statistics.median(sizes))} rows)")
print(f"batch ms p50 / p99 / max      {p(0.5):.1f} / {p(0.99):.1f} / {ms[-1]:.1f}   (target p99 <= 200)")
print(f"rows left pending             {left:>10}")
print(f"t equals t_ref                {same:>10}")
PY
echo "batch log: $out/batches.tsv" >&2
