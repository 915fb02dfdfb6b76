"""Shared pytest configuration for Tests/schema and Tests/python: a skipped test counts as a
failure, because a test that skips on a machine missing a dependency is a test that never ran."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, which counts as a failure here: {report.longrepr}"


@pytest.fixture(scope="session")
def pgphase_bin() -> pathlib.Path:
    """The pgphase binary the tests run: $PGPHASE_BIN, else the debug build, built first if missing
    (so `python3 -m pytest Tests/schema Tests/python` works in a fresh clone, in any order)."""
    explicit = os.environ.get("PGPHASE_BIN")
    if explicit:
        return pathlib.Path(explicit)
    bin_dir = subprocess.run(
        ["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    binary = pathlib.Path(bin_dir) / "pgphase"
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", "pgphase"], cwd=ROOT, check=True)
    return binary
