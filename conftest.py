"""pytest hooks for `make nbval`: each notebook's wall time (kernel start, every cell, shutdown) is
recorded into $NOTEBOOK_TIMES, under the profile the run uses; without NOTEBOOK_TIMES nothing is."""
import os
from collections import defaultdict

_seconds = defaultdict(float)


def pytest_runtest_logreport(report):
    # nbval's items are the cells of a notebook: their setup, call and teardown add up to its wall time.
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration


def pytest_sessionfinish(session):
    target = os.environ.get("NOTEBOOK_TIMES")
    if not target or not _seconds:
        return
    from helpers import report
    for notebook, seconds in _seconds.items():
        report.record_time(notebook, seconds, os.environ.get("PROFILE", "quick"), os.environ.get("DATASET", "mock"),
                           target)
