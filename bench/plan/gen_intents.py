#!/usr/bin/env python3
"""Writes N intent files (default 1,000) for bench/plan: each touches its own tables with a mix
of operations (create_table, add_column with a NOT NULL default and a check, create_index,
add_check, add_foreign_key, add_unique, rename_column, backfill, set_not_null, drop_column), so
the planner does its full work and no two intents collide. Fixed seed: the same files every run.

    gen_intents.py OUT_DIR [N]
"""
import pathlib
import random
import sys

out = pathlib.Path(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rng = random.Random(20261201)
out.mkdir(parents=True, exist_ok=True)
for old in out.glob("*.yaml"):
    old.unlink()

for i in range(count):
    t = f"bench_t{i:04d}"
    parent = f"bench_p{i:04d}"
    changes = [
        f"""  - create_table:
      table: {parent}
      columns:
        - {{name: id, type: bigint, identity: always, primary_key: true}}
        - {{name: label, type: text, nullable: false}}""",
        f"""  - add_column:
      table: {t}
      column: {{name: status, type: text, nullable: false, default: "'new'", check: "status IN ('new', 'done')"}}""",
        f"""  - create_index:
      table: {t}
      name: {t}_status_idx
      columns: [status, "lower(note)"]
      where: "status <> 'done'\"""",
    ]
    extra = [
        f"""  - add_check:
      table: {t}
      name: {t}_amount_check
      expression: "amount >= 0\"""",
        f"""  - add_foreign_key:
      table: {t}
      name: {t}_parent_fkey
      columns: [parent_id]
      references: {{table: {parent}, columns: [id]}}
      on_delete: cascade""",
        f"""  - add_unique:
      table: {t}
      name: {t}_code_key
      columns: [code]""",
        f"""  - backfill:
      table: {t}
      set: {{note: "coalesce(note, '')"}}
      where: "note IS NULL\"""",
        f"""  - set_not_null:
      table: {t}
      column: created_at
      backfill: "now()\"""",
        f"""  - drop_column:
      table: {t}
      column: legacy""",
    ]
    changes += rng.sample(extra, 2)
    text = f"description: Bench intent {i} of {count}.\nchanges:\n" + "\n".join(changes) + "\n"
    (out / f"2027{i // 28 + 1:02d}{i % 28 + 1:02d}_{i:04d}_bench.yaml").write_text(text)
print(f"wrote {count} intents to {out}")
