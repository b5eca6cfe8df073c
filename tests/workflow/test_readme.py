"""The README's promises stay true: its diagram is the machine's, its two commands exist in the Makefile."""

from __future__ import annotations

from pathlib import Path

from workflow.lifecycle import mermaid

ROOT = Path(__file__).resolve().parents[2]


def test_readme_diagram_matches_the_lifecycle() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"```mermaid\n{mermaid()}```" in readme


def test_readme_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in readme
        assert f"\n{target}: " in makefile
