"""Dependencies point one way (DESIGN §8): api -> demo -> notifications -> workflow -> rules. The demo data
is not part of the domain, so nothing below `api/` imports `demo/`, and `demo/` imports no `api/`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each package, and the packages of ours it must never import.
FORBIDDEN = {
    "rules": {"workflow", "notifications", "demo", "api"},
    "workflow": {"notifications", "demo", "api"},
    "notifications": {"demo", "api"},
    "demo": {"api"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_one_above_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {name: mods for name, mods in wrong.items() if mods} == {}


def test_the_simulation_lives_in_demo_not_in_the_domain() -> None:
    assert (ROOT / "demo" / "simulation.py").is_file()
    assert not (ROOT / "workflow" / "simulation.py").exists()
