"""A pytest plugin for mutation runs only (mutation/run.py loads it with ``-p cold_caches``).

mutmut 3 forks each mutant's test run from a process that has already run the tests once, so views
cached at module level (the lifecycle machine, compiled rulesets, the shipped matrix) were built by the
original code and a mutant in the code that builds them would never run. Emptying those caches when
each run starts makes the mutant build them again.
"""

from __future__ import annotations

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    from rules import engine
    from rules.morile import matrix_file
    from workflow import lifecycle

    engine._cache.clear()
    lifecycle._cache.clear()
    matrix_file.default_matrix.cache_clear()
