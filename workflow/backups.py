"""Copies of an SQLite database file, taken while the service writes to it (`sctac db backup` and
`restore`).

SQLite's online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot page by page while
the service keeps writing; a plain `cp` of a WAL database can catch it half-way. PostgreSQL is backed up
with its own tools (pg_dump), which the CLI prints the command for.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL

# What a file must hold to be taken for an sctac database.
_TABLES = {"case", "case_event", "alembic_version"}


def sqlite_file(url: URL) -> Path | None:
    """The file an SQLite URL names (None: not SQLite, or in memory)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def copy(source: Path, target: Path) -> int:
    """Copy the database `source` into `target` with the online backup API; the pages copied."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        pages: int = dst.execute("PRAGMA page_count").fetchone()[0]
        # A copy with its own WAL left behind would be two files: fold it into one.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    return pages


def not_an_sctac_database(path: Path) -> str | None:
    """Why `path` is not an intact sctac SQLite database (None: it is one)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not a SQLite database ({exc})"
    if ok != "ok":
        return f"damaged: {ok}"
    if not tables >= _TABLES:
        return "a SQLite database, but not an sctac one (no case or case_event table)"
    return None
