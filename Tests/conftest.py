"""Shared pytest configuration for Tests/schema and Tests/python: a skipped test counts as a
failure, because a test that skips on a machine missing a dependency is a test that never ran."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, which counts as a failure here: {report.longrepr}"
