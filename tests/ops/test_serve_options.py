"""`sctac serve --workers N` refuses, in one line and before listening, what several processes cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCTAC = str(Path(sys.executable).with_name("sctac"))
PG = "postgresql://nobody@127.0.0.1:1/never_reached"  # refused before any connection is tried
SECRET = "s" * 40


def serve(*args: str, drop: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [SCTAC, "serve", "--port", "1", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_several_processes_on_sqlite_are_refused(tmp_path: Path) -> None:
    line = one_line(serve("--workers", "2", SCTAC_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"))
    assert line.startswith("sctac: --workers 2 needs PostgreSQL")
    assert not (tmp_path / "x.db").exists()  # refused before anything was created


def test_several_processes_need_a_shared_session_key() -> None:
    line = one_line(serve("--workers", "3", drop=("SCTAC_SECRET_KEY",), SCTAC_DATABASE_URL=PG))
    assert line.startswith("sctac: --workers 3 needs SCTAC_SECRET_KEY (at least 32 characters")


@pytest.mark.parametrize("short", ["", "too-short"])
def test_a_short_session_key_is_no_key(short: str) -> None:
    line = one_line(serve("--workers", "2", SCTAC_DATABASE_URL=PG, SCTAC_SECRET_KEY=short))
    assert "needs SCTAC_SECRET_KEY" in line


def test_several_processes_need_the_chain_key_set() -> None:
    out = serve(
        "--workers",
        "2",
        drop=("SCTAC_CHAIN_KEY", "SCTAC_CHAIN_KEY_FILE"),
        SCTAC_DATABASE_URL=PG,
        SCTAC_SECRET_KEY=SECRET,
    )
    assert one_line(out).startswith("sctac: --workers 2 needs SCTAC_CHAIN_KEY or SCTAC_CHAIN_KEY_FILE")
