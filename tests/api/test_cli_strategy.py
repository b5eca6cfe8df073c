"""`sctac strategy check|preview|publish|show`: errors as file:line:col on one line each and a one-line
summary, never a traceback; publish makes the strategy the one `show` prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCTAC = str(Path(sys.executable).with_name("sctac"))
SHIPPED = ROOT / "rules" / "default" / "strategy.yaml"


@pytest.fixture
def database(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "SCTAC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    done = subprocess.run([SCTAC, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return env


def sctac(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCTAC, *args], env=env, capture_output=True, text=True, timeout=120)


def test_check_preview_publish_and_show(database: dict[str, str], tmp_path: Path) -> None:
    ok = sctac(database, "strategy", "check", str(SHIPPED))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"ok: {SHIPPED} is strategy cs-")
    assert "7 priorities, 3 intelligence requirements, 3 BCUs with local priorities" in ok.stdout

    bad = tmp_path / "strategy.yaml"
    bad.write_text(SHIPPED.read_text(encoding="utf-8").replace("unit: NE,", "unit: XX,"), encoding="utf-8")
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), start=1) if "unit: XX," in t)
    refused = sctac(database, "strategy", "check", str(bad))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    lines = refused.stderr.splitlines()
    assert lines[0].startswith(f'{bad}:{line}:12: local_priorities[0].unit: unknown BCU "XX"')
    assert lines[-1] == f"sctac: 1 error(s) in {bad}"
    assert sctac(database, "strategy", "publish", str(bad)).returncode == 1

    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        SHIPPED.read_text(encoding="utf-8").replace(
            "name: Control Strategy 2026/27 (placeholder)", "name: Next"
        ),
        encoding="utf-8",
    )
    preview = sctac(database, "strategy", "preview", str(candidate))
    assert preview.returncode == 0, preview.stderr
    assert "this strategy would move 0 cases up the tasking list, 0 down" in preview.stdout
    published = sctac(database, "strategy", "publish", str(candidate), "--note", "renamed")
    assert published.returncode == 0 and "(Next)" in published.stdout
    shown = sctac(database, "strategy", "show")
    assert "name: Next" in shown.stdout and shown.stdout.startswith("# cs-")
    assert (
        sctac(database, "strategy", "check", str(tmp_path / "none.yaml"))
        .stderr.strip()
        .endswith("no such file")
    )
