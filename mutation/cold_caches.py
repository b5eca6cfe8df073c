"""A pytest plugin for mutation runs only (mutation/run.py loads it with ``-p cold_caches``).

mutmut 3 forks each mutant's test run from a process that has already run the tests once, so views
cached at module level (the lifecycle machine, compiled rulesets, the shipped matrix, the prepared
compare-and-set statements) were built by the original code and a mutant in the code that builds them
would never run. Emptying those caches when each run starts makes the mutant build them again.

Each mutant's tests are also run fastest first (by the durations mutmut recorded): the run stops at the
first failure (``-x``), so a mutant most tests catch costs the time of the quickest of them.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    # What the forked run inherits is never garbage it made: leave it out of every collection it runs.
    gc.freeze()
    from rules import engine
    from rules.morile import matrix_file
    from workflow import lifecycle, service

    engine._cache.clear()
    engine._warned = False  # the "durable_rules is missing" warning, given once per process
    lifecycle._cache.clear()
    matrix_file.default_matrix.cache_clear()
    service._cas_by_columns.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stats = Path("mutmut-stats.json")  # mutmut runs each mutant's tests in its mutants/ folder
    if not stats.exists():
        return
    duration = json.loads(stats.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: duration.get(item.nodeid, 0.0))
