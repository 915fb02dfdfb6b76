#!/usr/bin/env python3
"""Writes the fuzzing corpus of intent files under Tests/fuzz/intents/ (seeded: the same files
every run; commit them). FuzzCorpusTests runs `pgphase plan` on each and requires exit 0, or
exit 2 with every error located at file:line:column.

    python3 Tests/fuzz/generate.py [COUNT]      (default 320)

Three kinds of file:
  mutant_*  an example intent with one to three text mutations: a value replaced by a tricky
            scalar (a YAML boolean, number, date, null, tag, alias, NUL escape, overlong name,
            long value), a key misspelt, a line deleted, duplicated or re-indented, bytes
            inserted (NUL, invalid UTF-8, control characters, flow indicators), or a cut;
  grammar_* an intent built from random operations whose fields are drawn from valid and
            invalid values;
  edge_*    hand-picked extremes: empty, comments only, deep nesting, an alias bomb, more
            changes than allowed, a 100 kB value, multiple documents, a BOM, CRLF line ends.
"""
import pathlib
import random
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "fuzz" / "intents"
EXAMPLES = sorted((ROOT / "examples" / "intents").glob("*.yaml"))
COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 320
rng = random.Random(20261201)

TRICKY_SCALARS = [
    "False", "true", "yes", "no", "on", "off", "~", "null", "", "12", "-3", "0x1F", "0o17", "1_000", "1.5e3",
    ".inf", ".nan", "2024-01-01", "2001-12-14t21:59:43.10-05:00", "!!binary aGVsbG8=", "!custom x", "!!str 5",
    "!!int 5", "!!null ''", '"a\\0b"', '"\\x00"', '"\\u0000"', "*undefined", "&a x", "[a, b]", "{a: b}", "[]", "{}",
    "'" + "x" * 64 + "'", "y" * 63, "z" * 64, "\u00e4" * 32, "\u00e4" * 31 + "x", '"order"', "order", "select",
    "'" + "v" * 5000 + "'", '"multi\\nline"', "a.b.c", '"\\"q\\".t"', "schema.", ".t", "'a''b'", "- x", "? x",
    "|", ">", "# comment", "'", '"', "{", "[", "*", "&", "!", "%", "@", "`",
]
INSERTIONS = [
    b"\x00", b"\xff", b"\xc3", b"\xe2\x82", b"\x07", b"\x1b", b"\x7f", b"\t", b"\r", b"\r\n", "\u00e9".encode(),
    b"\xef\xbb\xbf", b"\xed\xa0\x80", b"{", b"}", b"[", b"]", b"&a ", b"*a", b"!!binary ", b"!custom ", b"---\n",
    b"...\n", b"? ", b"- ", b"#", b'"', b"'", b": ", b",", b"\n", b"  ", b"%YAML 1.1\n", b"<<: *a\n",
]


def mutate_value(lines):
    candidates = [i for i, line in enumerate(lines) if ": " in line and not line.strip().startswith("#")]
    if not candidates:
        return lines
    i = rng.choice(candidates)
    key, _, _ = lines[i].partition(": ")
    lines[i] = f"{key}: {rng.choice(TRICKY_SCALARS)}"
    return lines


def misspell_key(lines):
    candidates = [i for i, line in enumerate(lines) if ":" in line and line.strip()[:1].isalpha()]
    if not candidates:
        return lines
    i = rng.choice(candidates)
    indent = len(lines[i]) - len(lines[i].lstrip())
    key, sep, rest = lines[i].lstrip().partition(":")
    if key.startswith("- "):
        return lines
    if len(key) > 2:
        j = rng.randrange(len(key) - 1)
        key = rng.choice([key[:j] + key[j + 1 :], key[:j] + key[j + 1] + key[j] + key[j + 2 :], key + "s"])
    lines[i] = " " * indent + key + sep + rest
    return lines


def line_edit(lines):
    if len(lines) < 2:
        return lines
    i = rng.randrange(len(lines))
    op = rng.choice(["delete", "duplicate", "indent", "dedent"])
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "indent":
        lines[i] = " " * rng.choice([1, 2, 4]) + lines[i]
    else:
        lines[i] = lines[i].lstrip()
    return lines


def mutant(n):
    source = rng.choice(EXAMPLES)
    data = source.read_bytes()
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["value", "value", "value", "key", "line", "insert", "cut"])
        if kind in ("value", "key", "line"):
            lines = data.decode("utf-8", "surrogateescape").split("\n")
            lines = {"value": mutate_value, "key": misspell_key, "line": line_edit}[kind](lines)
            data = "\n".join(lines).encode("utf-8", "surrogateescape")
        elif kind == "insert":
            at = rng.randrange(len(data) + 1)
            data = data[:at] + rng.choice(INSERTIONS) + data[at:]
        else:
            data = data[: rng.randrange(len(data) + 1)]
    return f"mutant_{n:03d}_{source.stem[9:]}", data


NAMES = ["t", "incidents", "a_b", "Mixed Case", "order", "user", "x" * 63, "y" * 64, "\u00e4" * 32, "s.t", '"s.t"']
EXPRESSIONS = ["0", "false", "now()", "'text'", "a + 1", "x IS NOT NULL", "yes", "2024-01-01", "0x10", "~"]
TYPES = ["text", "bigint", "numeric(10,2)", "timestamptz", "False", "12", "integer[]"]


def name():
    return rng.choice(NAMES)


def scalar(choices):
    value = rng.choice(choices)
    return value if rng.random() < 0.7 else rng.choice(TRICKY_SCALARS)


def column():
    fields = {"name": scalar(NAMES), "type": scalar(TYPES)}
    for key, choices in [("nullable", ["true", "false"]), ("default", EXPRESSIONS), ("check", EXPRESSIONS),
                         ("unique", ["true", "false"]), ("identity", ["always", "by_default", "sometimes"])]:
        if rng.random() < 0.25:
            fields[key] = scalar(choices)
    if rng.random() < 0.15:
        fields["references"] = f"{{table: {scalar(NAMES)}, column: {scalar(NAMES)}, on_delete: {scalar(['cascade', 'nullify'])}}}"
    return "{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"


def operation():
    op = rng.choice([
        "create_table", "drop_table", "rename_table", "add_column", "drop_column", "rename_column", "alter_column",
        "set_not_null", "drop_not_null", "set_default", "drop_default", "add_check", "add_foreign_key", "add_unique",
        "drop_constraint", "create_index", "drop_index", "backfill", "sql", "add_colum", "frobnicate",
    ])
    t = scalar(NAMES)
    bodies = {
        "create_table": f"{{table: {t}, columns: [{column()}, {column()}], primary_key: [{scalar(NAMES)}], "
        f"constraints: [{{name: {scalar(NAMES)}, check: {scalar(EXPRESSIONS)}}}, {{name: {scalar(NAMES)}, unique: [{scalar(NAMES)}]}}]}}",
        "drop_table": f"{{table: {t}}}",
        "rename_table": f"{{from: {t}, to: {scalar(NAMES)}}}",
        "add_column": f"{{table: {t}, column: {column()}, backfill: {scalar(EXPRESSIONS)}}}",
        "drop_column": f"{{table: {t}, column: {scalar(NAMES)}}}",
        "rename_column": f"{{table: {t}, from: {scalar(NAMES)}, to: {scalar(NAMES)}}}",
        "alter_column": f"{{table: {t}, column: {scalar(NAMES)}, type: {scalar(TYPES)}, up: {scalar(EXPRESSIONS)}}}",
        "set_not_null": f"{{table: {t}, column: {scalar(NAMES)}, backfill: {scalar(EXPRESSIONS)}}}",
        "drop_not_null": f"{{table: {t}, column: {scalar(NAMES)}}}",
        "set_default": f"{{table: {t}, column: {scalar(NAMES)}, default: {scalar(EXPRESSIONS)}}}",
        "drop_default": f"{{table: {t}, column: {scalar(NAMES)}}}",
        "add_check": f"{{table: {t}, name: {scalar(NAMES)}, expression: {scalar(EXPRESSIONS)}}}",
        "add_foreign_key": f"{{table: {t}, name: {scalar(NAMES)}, columns: [{scalar(NAMES)}], "
        f"references: {{table: {scalar(NAMES)}, columns: [{scalar(NAMES)}]}}, on_delete: {scalar(['cascade', 'set_null'])}}}",
        "add_unique": f"{{table: {t}, name: {scalar(NAMES)}, columns: [{scalar(NAMES)}, {scalar(NAMES)}]}}",
        "drop_constraint": f"{{table: {t}, name: {scalar(NAMES)}}}",
        "create_index": f"{{table: {t}, name: {scalar(NAMES)}, columns: [{scalar(NAMES)}, 'lower(x)', {{column: {scalar(NAMES)}}}], "
        f"unique: {scalar(['true', 'false'])}, where: {scalar(EXPRESSIONS)}, include: [{scalar(NAMES)}]}}",
        "drop_index": f"{{name: {scalar(NAMES)}}}",
        "backfill": f"{{table: {t}, set: {{{scalar(NAMES)}: {scalar(EXPRESSIONS)}}}, where: {scalar(EXPRESSIONS)}}}",
        "sql": f"{{phase: {scalar(['expand', 'backfill', 'contract', 'later'])}, up: {scalar(['SELECT 1', 'CREATE TABLE z (a int)'])}, "
        f"transactional: {scalar(['true', 'false'])}}}",
    }
    return f"  - {op}: {bodies.get(op, '{table: t}')}"


def grammar(n):
    header = []
    if rng.random() < 0.3:
        header.append(f"id: {scalar(['fz_' + str(n), 'a/b', '..', 'x' * 256, 'ok-id'])}")
    if rng.random() < 0.5:
        header.append(f"description: {scalar(['Fuzzed.', 'x'])}")
    if rng.random() < 0.3:
        header.append(f"schema: {scalar(NAMES)}")
    if rng.random() < 0.3:
        header.append(f"settings: {{lock_timeout: {scalar(['2s', '500', 'soon'])}, backfill_batch_size: {scalar(['100', '0', 'many'])}}}")
    body = [operation() for _ in range(rng.randint(1, 5))]
    return f"grammar_{n:03d}", ("\n".join(header + ["changes:"] + body) + "\n").encode()


def edges():
    yield "edge_empty", b""
    yield "edge_comments_only", b"# nothing here\n\n"
    yield "edge_deep_flow", b"changes:\n  - " + b"[" * 1500 + b"]" * 1500 + b"\n"
    yield "edge_deep_block", b"changes:\n  - " + b"- " * 1200 + b"x\n"
    bomb = b"a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"a{i}: &a{i} [".encode() + b", ".join([f"*a{i - 1}".encode()] * 9) + b"]\n"
    yield "edge_alias_bomb", b"description: |\n  A bomb in a value.\nx:\n" + b"".join(b"  " + line + b"\n" for line in bomb.splitlines()) + b"changes:\n  - sql: {phase: expand, up: *a8}\n"
    yield "edge_alias_bomb_changes", bomb + b"changes: *a8\n"
    yield "edge_too_many_changes", b"changes:\n" + b"  - drop_index: {name: i}\n" * 1001
    yield "edge_thousand_changes", b"changes:\n" + b"".join(f"  - drop_index: {{name: i{i}}}\n".encode() for i in range(1000))
    yield "edge_long_value", b"changes:\n  - sql: {phase: later, up: '" + b"v" * 100_000 + b"'}\n"
    yield "edge_long_key", b"changes:\n  - drop_index: {" + b"k" * 100_000 + b": i}\n"
    yield "edge_two_documents", b"changes:\n  - drop_index: {name: a}\n---\nchanges:\n  - drop_index: {name: b}\n"
    yield "edge_bom", b"\xef\xbb\xbfchanges:\n  - drop_index: {name: a}\n"
    yield "edge_crlf", b"changes:\r\n  - drop_index: {name: a}\r\n"
    yield "edge_utf16", "changes:\n  - drop_index: {name: a}\n".encode("utf-16")
    yield "edge_latin1", "description: caf\u00e9\nchanges:\n  - drop_index: {name: a}\n".encode("latin-1")
    yield "edge_nul_escape", b'changes:\n  - sql: {phase: expand, up: "SELECT \'\\0\'"}\n'
    yield "edge_raw_nul", b"changes:\n  - drop_index: {name: a\x00b}\n"
    yield "edge_tag_binary", b"changes:\n  - drop_index: {name: !!binary aGk=}\n"
    yield "edge_tag_custom_map", b"changes:\n  - drop_index: !custom {name: a}\n"
    yield "edge_type_false", b"changes:\n  - add_column: {table: checks, column: {name: endpoint, type: False}}\n"
    yield "edge_unique_67_bytes", b"changes:\n  - add_unique: {table: t, name: t_key, columns: [" + b"c" * 67 + b"]}\n"
    yield "edge_merge_key", b"base: &b {table: t}\nchanges:\n  - drop_table: {<<: *b}\n"
    yield "edge_scalar_root", b"just a string\n"
    yield "edge_list_root", b"- changes\n"
    yield "edge_tabs", b"changes:\n\t- drop_index: {name: a}\n"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.yaml"):
        old.unlink()
    files = list(edges())
    n = 0
    while len(files) < COUNT:
        files.append(mutant(n) if n % 3 else grammar(n))
        n += 1
    for stem, data in files:
        (OUT / f"{stem}.yaml").write_bytes(data)
    print(f"wrote {len(files)} files to {OUT.relative_to(ROOT)}")


main()
