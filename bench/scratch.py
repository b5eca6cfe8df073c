"""A scratch PostgreSQL database for one benchmark run, dropped afterwards (CI shares the server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from workflow.db import make_engine


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """Create a database on the server `base_url` names; yield its URL; drop it, whatever happened."""
    name = f"sctac_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
