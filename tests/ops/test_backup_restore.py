"""`sctac db backup` and `sctac db restore` on real files read back with sqlite3; pg_dump on PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.factories import submit
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.reference import sync_reference

SCTAC = str(Path(sys.executable).with_name("sctac"))


def sctac(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCTAC_DATABASE_URL": url}
    env.pop("SCTAC_CHECKPOINT_PATH", None)
    return subprocess.run([SCTAC, *args], env=env, capture_output=True, text=True, timeout=120)


def cases_in(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute('SELECT count(*) FROM "case"').fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def live(tmp_path: Path) -> tuple[str, Path]:
    """A migrated SQLite database, in WAL mode as the service runs it, holding one case."""
    db = tmp_path / "live.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        sync_reference(s)
        submit(s)
    engine.dispose()
    return url, db


def add_case(url: str) -> None:
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        submit(s)
    engine.dispose()


def test_backup_then_restore_over_a_changed_database(live: tuple[str, Path], tmp_path: Path) -> None:
    url, db = live
    backup = tmp_path / "backup.db"
    out = sctac("db", "backup", str(backup), url=url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"backed up {db} to {backup} (")
    assert cases_in(backup) == 1
    assert not Path(f"{backup}-wal").exists()  # one self-contained file

    add_case(url)
    assert cases_in(db) == 2
    refused = sctac("db", "restore", str(backup), url=url)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"sctac: {db}: a database is there (perhaps in use): stop the service, then --force replaces it"
    )
    assert cases_in(db) == 2  # untouched

    done = sctac("db", "restore", str(backup), "--force", url=url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"restored {backup} into {db} (")
    assert lines[-1] == "audit ok: 1 cases, 1 events checked"
    assert cases_in(db) == 1


def test_backup_refuses_to_overwrite_without_force(live: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = live
    there = tmp_path / "there.db"
    there.write_text("keep me")
    out = sctac("db", "backup", str(there), url=url)
    assert (
        out.returncode == 1
        and out.stderr.strip() == f"sctac: {there}: exists; choose another file or pass --force to replace it"
    )
    assert there.read_text() == "keep me"


def test_restore_refuses_a_file_that_is_no_sctac_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    out = sctac("db", "restore", str(junk), "--force", url=f"sqlite:///{tmp_path / 'target.db'}")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith(f"sctac: {junk}: not a SQLite database")
    assert not (tmp_path / "target.db").exists()


def test_on_postgresql_backup_prints_pg_dump_without_the_password() -> None:
    out = sctac(
        "db", "backup", "/backups/sctac.dump", url="postgresql://sctac:s3cret-pw@db.example:5433/sctac"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "pg_dump --format=custom --file /backups/sctac.dump"
        " --host db.example --port 5433 --username sctac sctac"
    )
    assert "s3cret-pw" not in out.stdout + out.stderr


def test_a_restored_backup_with_an_altered_event_fails_its_audit(
    live: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = live
    backup = tmp_path / "backup.db"
    assert sctac("db", "backup", str(backup), url=url).returncode == 0
    conn = sqlite3.connect(backup)
    conn.execute("UPDATE case_event SET actor = 'someone.else'")
    conn.commit()
    conn.close()
    out = sctac("db", "restore", str(backup), "--force", url=url)
    assert out.returncode == 1
    assert any(line.startswith("BROKEN ") for line in out.stderr.splitlines()), out.stderr
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith("sctac: audit verify after the restore: 1 broken chain(s)")
    )
