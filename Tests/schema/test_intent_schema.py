"""The JSON Schema for intent files (schema/intent.schema.json) accepts every example intent,
rejects malformed ones, and names exactly the operations of the intent language."""

import copy
import json
import pathlib

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schema" / "intent.schema.json"
EXAMPLES = sorted((ROOT / "examples" / "intents").glob("*.yaml"))

OPERATIONS = set(
    "create_table drop_table rename_table add_column drop_column rename_column alter_column "
    "set_not_null drop_not_null set_default drop_default add_check add_foreign_key add_unique "
    "drop_constraint rename_constraint comment_table comment_column set_replica_identity create_index drop_index "
    "backfill sql".split()
)


@pytest.fixture(scope="module")
def schema():
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def validator(schema):
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def load(path):
    return yaml.safe_load(path.read_text())


def errors(validator, document):
    return list(validator.iter_errors(document))


GOOD = {
    "description": "A minimal valid intent.",
    "changes": [{"add_check": {"table": "t", "name": "t_x_check", "expression": "x > 0"}}],
}


def test_there_are_enough_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_intent_is_valid(validator, path):
    document = load(path)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors(validator, document)]
    assert problems == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_id_matches_file_name(path):
    document = load(path)
    assert document.get("id", path.stem) == path.stem
    assert document.get("description"), "every example intent has a description"


def test_examples_cover_every_operation():
    used = set()
    for path in EXAMPLES:
        for change in load(path)["changes"]:
            used.update(change)
    assert used == OPERATIONS


def test_examples_have_probes():
    for path in EXAMPLES:
        for name in ("old.sql", "new.sql"):
            assert (ROOT / "examples" / "probes" / path.stem / name).is_file(), f"{path.stem}/{name}"


def test_schema_operations_are_exactly_the_language(schema):
    change = schema["$defs"]["change"]
    from_branches = {key for branch in change["oneOf"] for key in branch["required"]}
    assert from_branches == OPERATIONS
    assert set(change["propertyNames"]["enum"]) == OPERATIONS
    assert {k.removeprefix("op_") for k in schema["$defs"] if k.startswith("op_")} == OPERATIONS


def test_every_property_has_a_description(schema):
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{path}/properties/{name}")
            for key, sub in node.items():
                walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}/{i}")

    walk(schema, "#")
    assert missing == []


def test_minimal_document_is_valid(validator):
    assert errors(validator, GOOD) == []


def test_plain_scalars_are_accepted_where_the_parser_takes_them(validator):
    document = {
        "settings": {"lock_timeout": 500, "backfill_batch_size": 10},
        "changes": [
            {"set_default": {"table": "t", "column": "n", "default": 0}},
            {"create_index": {"table": "t", "name": "i", "columns": ["a", "lower(b)", {"column": "c"}, {"expression": "d + 1"}]}},
            {"add_column": {"table": "t", "column": {"name": "b", "type": "boolean", "nullable": False, "default": False}}},
        ],
    }
    assert errors(validator, document) == []


def bad(mutate):
    document = copy.deepcopy(GOOD)
    mutate(document)
    return document


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(bad(lambda d: d.update(descripton="typo")), id="unknown top-level key"),
        pytest.param(bad(lambda d: d["changes"][0]["add_check"].update(colum="x")), id="unknown operation field"),
        pytest.param(bad(lambda d: d["changes"][0]["add_check"].pop("expression")), id="missing required field"),
        pytest.param(bad(lambda d: d.pop("changes")), id="missing changes"),
        pytest.param(
            bad(lambda d: d["changes"][0].update(drop_index={"name": "i"})), id="two operations in one change"
        ),
        pytest.param(bad(lambda d: d["changes"].append({})), id="empty change"),
        pytest.param(bad(lambda d: d["changes"].append({"add_colum": {"table": "t"}})), id="unknown operation"),
        pytest.param(
            bad(lambda d: d["changes"].append({"sql": {"phase": "deploy", "up": "SELECT 1"}})), id="bad phase"
        ),
        pytest.param(
            bad(
                lambda d: d["changes"].append(
                    {"add_column": {"table": "t", "column": {"name": "c", "type": "int", "identity": "sometimes"}}}
                )
            ),
            id="bad identity",
        ),
        pytest.param(
            bad(
                lambda d: d["changes"].append(
                    {
                        "add_foreign_key": {
                            "table": "t",
                            "name": "fk",
                            "columns": ["a"],
                            "references": {"table": "u", "columns": ["id"]},
                            "on_delete": "nullify",
                        }
                    }
                )
            ),
            id="bad referential action",
        ),
        pytest.param(
            bad(
                lambda d: d["changes"].append(
                    {
                        "create_table": {
                            "table": "t",
                            "columns": [{"name": "a", "type": "int"}],
                            "constraints": [{"name": "c", "check": "a > 0", "unique": ["a"]}],
                        }
                    }
                )
            ),
            id="table constraint of two kinds",
        ),
        pytest.param(bad(lambda d: d.update(settings={"backfill_batch_size": 0})), id="zero batch size"),
        pytest.param(
            bad(lambda d: d["changes"].append({"create_index": {"table": "t", "name": "i", "columns": [{"col": "a"}]}})),
            id="bad index key mapping",
        ),
        pytest.param(bad(lambda d: d.update(settings={"lock_timeout": "soon"})), id="bad lock_timeout"),
        pytest.param(bad(lambda d: d.update(settings={"lock_timeout": "1.5s"})), id="fractional lock_timeout"),
    ],
)
def test_bad_documents_are_rejected(validator, document):
    assert errors(validator, document) != []


LONG = "n" * 64


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(bad(lambda d: d["changes"][0]["add_check"].update(name=LONG)), id="constraint name"),
        pytest.param(bad(lambda d: d.update(schema=LONG)), id="schema"),
        pytest.param(
            bad(lambda d: d["changes"].append({"add_unique": {"table": "t", "name": "u", "columns": [LONG]}})),
            id="add_unique column",
        ),
        pytest.param(
            bad(lambda d: d["changes"].append({"backfill": {"table": "t", "set": {LONG: "1"}}})), id="backfill.set key"
        ),
        pytest.param(
            bad(
                lambda d: d["changes"].append(
                    {
                        "add_foreign_key": {
                            "table": "t",
                            "name": "fk",
                            "columns": ["a"],
                            "references": {"table": "u", "columns": [LONG]},
                        }
                    }
                )
            ),
            id="foreign key target column",
        ),
        pytest.param(bad(lambda d: d.update(id="x" * 256)), id="id longer than a file name"),
        pytest.param(bad(lambda d: d.update(id="a/b")), id="id with a slash"),
        pytest.param(bad(lambda d: d.update(id="..")), id="id of dots"),
        pytest.param(
            bad(
                lambda d: d["changes"].append(
                    {"add_column": {"table": "t", "column": {"name": "c", "type": False}}}
                )
            ),
            id="boolean type",
        ),
    ],
)
def test_what_pgphase_refuses_the_schema_refuses(validator, document):
    assert errors(validator, document) != []


def test_a_63_character_name_is_valid(validator):
    assert errors(validator, bad(lambda d: d["changes"][0]["add_check"].update(name="n" * 63))) == []


CORPUS = sorted((ROOT / "Tests" / "fuzz" / "intents").glob("*.yaml"))
def test_fuzz_corpus_every_intent_pgphase_plans_is_valid_against_the_schema(validator, tmp_path, pgphase_bin):
    """Agreement on the seeded fuzzing corpus: whatever pgphase accepts, the JSON Schema accepts
    (as PyYAML reads it). The schema is looser in places it cannot express (bytes, planner rules)."""
    import subprocess

    assert len(CORPUS) >= 300
    accepted = 0
    for path in CORPUS:
        result = subprocess.run(
            [str(pgphase_bin), "plan", str(path), "--out", str(tmp_path / path.stem)], capture_output=True, text=True
        )
        assert result.returncode in (0, 2), f"{path.name}: exit {result.returncode}: {result.stderr}"
        if result.returncode != 0:
            continue
        accepted += 1
        document = yaml.safe_load(path.read_bytes())
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors(validator, document)]
        assert problems == [], path.name
    assert accepted >= 10
