"""`sctac rules check` on a MoRiLE matrix file, and a bad matrix stopping start-up (issue 12, item 25)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCTAC = str(Path(sys.executable).with_name("sctac"))
SHIPPED = ROOT / "rules" / "matrices" / "tactical-default.yaml"
BROKEN = ROOT / "tests" / "rules" / "broken"


def sctac(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCTAC, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_check_recognises_a_matrix_file() -> None:
    out = sctac("rules", "check", str(SHIPPED))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ok: {SHIPPED} is matrix tactical-default 0.1 (placeholder)"


def test_check_reports_a_broken_matrix_once_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bands.yaml"
    shutil.copy(BROKEN / "26-matrix-bands-out-of-order" / "matrix.yaml", bad)
    out = sctac("rules", "check", str(bad))
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"error: {bad}:19:3: bands: must list P1, P2, P3, P4 in that order",
        f"sctac: 1 error(s) in {bad}",
    ]
    assert "required section" not in out.stderr


def test_check_with_matrix_option_checks_any_file_as_a_matrix(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text("colour: red\n")  # neither kind by its fields: --matrix says which
    out = sctac("rules", "check", "--matrix", str(odd))
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert any(line.startswith(f"error: {odd}:1:1: colour: unknown field (allowed: ") for line in lines)
    assert f"error: {odd}:1:1: bands: required field is missing" in lines


def test_a_bad_matrix_stops_start_up_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "matrix.yaml"
    shutil.copy(BROKEN / "31-matrix-scope-multiplier-zero" / "matrix.yaml", bad)
    out = sctac("case", "list", SCTAC_MATRIX_PATH=str(bad), SCTAC_DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"sctac: bad configuration: SCTAC_MATRIX_PATH: Value error, {bad}:12:36: scope.2.multiplier: "
        "must be above 0"
    ]


def test_a_matrix_with_several_problems_says_how_many_more(tmp_path: Path) -> None:
    bad = tmp_path / "matrix.yaml"
    shutil.copy(BROKEN / "23-matrix-bad-bands" / "matrix.yaml", bad)
    out = sctac("case", "list", SCTAC_MATRIX_PATH=str(bad), SCTAC_DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"sctac: bad configuration: SCTAC_MATRIX_PATH: Value error, {bad}:6:11: harm.levels: levels must run "
        f"0, 1, ... without gaps, got 0, 1, 2, 4 (and 7 more: sctac rules check --matrix {bad})"
    ]
