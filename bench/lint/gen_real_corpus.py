#!/usr/bin/env python3
"""Writes a migrations folder shaped like what real projects ship, for bench/lint: many small files
in the layouts and styles four tools generate (fixed seed).

  gen_real_corpus.py OUT [SCALE]     (SCALE 1 = about 2,000 .sql files)

- Prisma: prisma/migrations/<timestamp>_<name>/migration.sql, quoted identifiers, `-- CreateTable`
  section comments, CREATE TABLE with many columns and a named primary key constraint, CREATE
  UNIQUE INDEX, ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... ON DELETE ... ON UPDATE CASCADE,
  enums, the "warnings" comment block Prisma writes before destructive steps.
- Rails (db/migrate SQL as structure.sql writes it): public.-qualified names, bigint ids with a
  sequence and ALTER TABLE ONLY ... SET DEFAULT nextval(...), timestamp(6) columns, USING btree
  indexes, schema_migrations inserts.
- Diesel: migrations/<date>_<name>/up.sql and down.sql with Diesel's header comment, SERIAL
  keys, VARCHAR/TEXT/BOOLEAN columns, diesel_manage_updated_at triggers, some metadata.toml with
  run_in_transaction = false beside a CREATE INDEX CONCURRENTLY.
- Flyway: sql/V<n>__<name>.sql with block comments, CREATE TABLE IF NOT EXISTS, seed INSERTs,
  views and a few data fixes, and .sql.conf files with executeInTransaction=false.
"""

import pathlib
import random
import sys

out = pathlib.Path(sys.argv[1])
scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
rng = random.Random(1951)
words = ("account user order invoice payment product item cart shipment address review tag comment post team "
         "project task event session token device message channel subscription plan price coupon refund audit "
         "report job queue webhook").split()
types_prisma = ['TEXT', 'TEXT NOT NULL', 'INTEGER', 'INTEGER NOT NULL', 'BOOLEAN NOT NULL DEFAULT false',
                'TIMESTAMP(3)', 'TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP', 'DOUBLE PRECISION', 'JSONB',
                'DECIMAL(65,30)', 'TEXT[]', 'BIGINT']
counts = {"prisma": 0, "rails": 0, "diesel": 0, "flyway": 0}


def camel(*parts):
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def prisma(n):
    base = out / "prisma" / "migrations"
    models = []
    for i in range(n):
        stamp = f"2023{(i // 28) % 12 + 1:02d}{i % 28 + 1:02d}{i % 24:02d}{i % 60:02d}00"
        parts = []
        kind = rng.random()
        if not models or kind < 0.35:
            name = camel(rng.choice(words), rng.choice(words)).capitalize() + str(i)
            cols = [f'    "id" SERIAL NOT NULL']
            for c in range(rng.randint(6, 22)):
                cols.append(f'    "{camel(rng.choice(words), "field", str(c))}" {rng.choice(types_prisma)}')
            cols.append('    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP')
            cols.append('    "updatedAt" TIMESTAMP(3) NOT NULL')
            cols.append(f'\n    CONSTRAINT "{name}_pkey" PRIMARY KEY ("id")')
            parts.append(f'-- CreateTable\nCREATE TABLE "{name}" (\n' + ",\n".join(cols) + "\n);")
            parts.append(f'-- CreateIndex\nCREATE UNIQUE INDEX "{name}_createdAt_key" ON "{name}"("createdAt");')
            if models:
                other = rng.choice(models)
                parts.append(f'-- AddForeignKey\nALTER TABLE "{name}" ADD CONSTRAINT "{name}_{other}Id_fkey" '
                             f'FOREIGN KEY ("id") REFERENCES "{other}"("id") ON DELETE RESTRICT ON UPDATE CASCADE;')
            models.append(name)
        elif kind < 0.55:
            m = rng.choice(models)
            col = camel(rng.choice(words), str(i))
            parts.append(f'-- AlterTable\nALTER TABLE "{m}" ADD COLUMN     "{col}" {rng.choice(types_prisma)};')
            if rng.random() < 0.3:
                parts.append(f'-- CreateIndex\nCREATE INDEX "{m}_{col}_idx" ON "{m}"("{col}");')
        elif kind < 0.65:
            m = rng.choice(models)
            parts.append(f"/*\n  Warnings:\n\n  - You are about to drop the column `legacy{i}` on the `{m}` table. "
                         f"All the data in the column will be lost.\n\n*/\n-- AlterTable\n"
                         f'ALTER TABLE "{m}" DROP COLUMN "legacy{i}";')
        elif kind < 0.75:
            enum = camel(rng.choice(words), "Status").capitalize() + str(i)
            parts.append(f"-- CreateEnum\nCREATE TYPE \"{enum}\" AS ENUM ('ACTIVE', 'INACTIVE', 'ARCHIVED');")
            m = rng.choice(models)
            parts.append(f'-- AlterTable\nALTER TABLE "{m}" ADD COLUMN     "status{i}" "{enum}" NOT NULL DEFAULT \'ACTIVE\';')
        elif kind < 0.85:
            m = rng.choice(models)
            parts.append(f'-- AlterTable\nALTER TABLE "{m}" ALTER COLUMN "updatedAt" DROP DEFAULT,\n'
                         f'ALTER COLUMN "createdAt" SET DATA TYPE TIMESTAMPTZ(3);')
        else:
            a, b = rng.choice(models), rng.choice(models)
            parts.append(f'-- DropForeignKey\nALTER TABLE "{a}" DROP CONSTRAINT IF EXISTS "{a}_{b}Id_fkey";')
            parts.append(f'-- AddForeignKey\nALTER TABLE "{a}" ADD CONSTRAINT "{a}_{b}Id_fkey" FOREIGN KEY ("id") '
                         f'REFERENCES "{b}"("id") ON DELETE CASCADE ON UPDATE CASCADE;')
        write(base / f"{stamp}_{rng.choice(words)}_{i}" / "migration.sql", "\n\n".join(parts) + "\n")
        counts["prisma"] += 1


def rails(n):
    base = out / "rails" / "db" / "migrate"
    tables = []
    for i in range(n):
        parts = []
        if not tables or rng.random() < 0.4:
            t = f"{rng.choice(words)}s_{i}"
            cols = ["    id bigint NOT NULL"]
            for c in range(rng.randint(4, 16)):
                cols.append(f"    {rng.choice(words)}_{c} {rng.choice(['character varying', 'text', 'integer', 'boolean DEFAULT false NOT NULL', 'bigint', 'jsonb DEFAULT {}::jsonb'.replace('{}', chr(39) + '{}' + chr(39)), 'numeric(10,2)', 'date'])}")
            cols += ["    created_at timestamp(6) without time zone NOT NULL", "    updated_at timestamp(6) without time zone NOT NULL"]
            parts.append(f"--\n-- Name: {t}; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.{t} (\n" + ",\n".join(cols) + "\n);")
            parts.append(f"CREATE SEQUENCE public.{t}_id_seq\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;")
            parts.append(f"ALTER SEQUENCE public.{t}_id_seq OWNED BY public.{t}.id;")
            parts.append(f"ALTER TABLE ONLY public.{t} ALTER COLUMN id SET DEFAULT nextval('public.{t}_id_seq'::regclass);")
            parts.append(f"ALTER TABLE ONLY public.{t}\n    ADD CONSTRAINT {t}_pkey PRIMARY KEY (id);")
            tables.append(t)
        else:
            t = rng.choice(tables)
            c = f"{rng.choice(words)}_id_{i}"
            parts.append(f"ALTER TABLE public.{t} ADD COLUMN {c} bigint;")
            parts.append(f"CREATE INDEX index_{t}_on_{c} ON public.{t} USING btree ({c});")
            if rng.random() < 0.4:
                o = rng.choice(tables)
                parts.append(f"ALTER TABLE ONLY public.{t}\n    ADD CONSTRAINT fk_rails_{i:010x} FOREIGN KEY ({c}) REFERENCES public.{o}(id);")
        parts.append(f"INSERT INTO \"schema_migrations\" (version) VALUES ('2023{i:010d}');")
        write(base / f"2023{i:010d}_{rng.choice(words)}_{i}.sql", "\n\n".join(parts) + "\n")
        counts["rails"] += 1


def diesel(n):
    base = out / "diesel" / "migrations"
    tables = []
    for i in range(n):
        folder = base / f"2023-{(i // 28) % 12 + 1:02d}-{i % 28 + 1:02d}-{i:06d}_{rng.choice(words)}"
        header = "-- Your SQL goes here\n"
        if not tables or rng.random() < 0.45:
            t = f"{rng.choice(words)}s{i}"
            cols = ["  id SERIAL PRIMARY KEY"]
            for c in range(rng.randint(3, 12)):
                cols.append(f"  {rng.choice(words)}{c} {rng.choice(['VARCHAR NOT NULL', 'TEXT NOT NULL', 'TEXT', 'BOOLEAN NOT NULL DEFAULT FALSE', 'INTEGER', 'TIMESTAMP NOT NULL DEFAULT NOW()', 'UUID NOT NULL'])}")
            up = header + f"CREATE TABLE {t} (\n" + ",\n".join(cols) + "\n);\n\nSELECT diesel_manage_updated_at('" + t + "');\n"
            down = f"-- This file should undo anything in `up.sql`\nDROP TABLE {t};\n"
            tables.append(t)
        elif rng.random() < 0.2:
            t = rng.choice(tables)
            up = header + f"CREATE INDEX CONCURRENTLY {t}_idx{i} ON {t} (id);\n"
            down = f"DROP INDEX CONCURRENTLY {t}_idx{i};\n"
            write(folder / "metadata.toml", "run_in_transaction = false\n")
        else:
            t = rng.choice(tables)
            c = f"extra{i}"
            up = header + f"ALTER TABLE {t} ADD COLUMN {c} VARCHAR;\nUPDATE {t} SET {c} = 'x' WHERE id < 100;\n"
            down = f"ALTER TABLE {t} DROP COLUMN {c};\n"
        write(folder / "up.sql", up)
        write(folder / "down.sql", down)
        counts["diesel"] += 2


def flyway(n):
    base = out / "flyway" / "sql"
    tables = []
    for i in range(1, n + 1):
        name = base / f"V{i}__{rng.choice(words)}_{rng.choice(words)}.sql"
        parts = [f"/*\n * V{i}: {' '.join(rng.choice(words) for _ in range(6))}\n * Author: team-{rng.choice(words)}\n */"]
        if not tables or rng.random() < 0.35:
            t = f"tbl_{rng.choice(words)}_{i}"
            cols = ["    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
            for c in range(rng.randint(4, 14)):
                cols.append(f"    -- {rng.choice(words)} {rng.choice(words)}\n    col_{c} {rng.choice(['VARCHAR(255)', 'TEXT', 'INT', 'NUMERIC(19,4)', 'TIMESTAMPTZ DEFAULT now()', 'BOOLEAN'])}")
            parts.append(f"CREATE TABLE IF NOT EXISTS {t} (\n" + ",\n".join(cols) + "\n);")
            parts.append(f"COMMENT ON TABLE {t} IS 'stores {rng.choice(words)} data';")
            parts.append(f"INSERT INTO {t} (col_0) VALUES ('a'), ('b'), ('c');")
            tables.append(t)
        elif rng.random() < 0.3:
            t = rng.choice(tables)
            parts.append(f"CREATE OR REPLACE VIEW v_{t} AS\nSELECT id, col_0\nFROM {t}\nWHERE col_0 IS NOT NULL;")
        elif rng.random() < 0.2:
            t = rng.choice(tables)
            parts.append(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_{t}_{i} ON {t} (col_0);")
            write(name.with_name(name.name + ".conf"), "executeInTransaction=false\n")
        else:
            t = rng.choice(tables)
            parts.append(f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS col_x{i} VARCHAR(64);")
            parts.append(f"UPDATE {t} SET col_x{i} = 'n/a' WHERE col_x{i} IS NULL;")
        write(name, "\n\n".join(parts) + "\n")
        counts["flyway"] += 1


prisma(int(600 * scale))
rails(int(500 * scale))
diesel(int(250 * scale))
flyway(int(400 * scale))
total = sum(counts.values())
print(f"wrote {total} .sql files to {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
