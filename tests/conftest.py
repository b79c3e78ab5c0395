"""Test configuration.

* scikit-learn's ``check_array_api_input`` needs SciPy's array-API mode, which SciPy reads
  once at import: it is set before anything imports SciPy, so that check runs instead of
  skipping.
* Each test process uses one thread unless OMP_NUM_THREADS says otherwise.
* Under CI (``CI=true``) a skipped test fails the run: every dependency the tests need is
  installed there, so a skip would hide a test that did not run.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SCIPY_ARRAY_API", "1")
# The suite runs in parallel processes (pytest -n 2) and estimators with n_jobs=None use
# OMP_NUM_THREADS, else every core: one thread per process avoids oversubscribing the cores,
# which slows torch training by an order of magnitude. Results do not depend on it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") and _skipped:
        print(f"\nCI forbids skipped tests; {len(_skipped)} skipped:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
