"""The one conftest: real databases for every database test.

Each database test runs on SQLite (a file in a temporary folder) and on PostgreSQL when
SCTAC_TEST_DATABASE_URL is set (CI sets it); without it the PostgreSQL half is skipped, visibly.
Each run creates its own PostgreSQL database, migrates it with Alembic, and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from api.web import dashboard
from workflow.checkpoints import checkpoint_path
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.models import HubTeam, User
from workflow.reference import sync_reference
from workflow.rulebook import Rulebook, get_rulebook

# One fixed chain key for the whole run (workflow/chain.py), inherited by every `sctac` the tests start, so
# events written in-process and audits run in a subprocess agree, and no key file lands in the checkout.
os.environ["SCTAC_CHAIN_KEY"] = "test-chain-key-" + "k" * 32

PG_URL = os.environ.get("SCTAC_TEST_DATABASE_URL")
PG_SKIP = (
    "PostgreSQL half skipped: set SCTAC_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
)


def _admin_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@contextmanager
def _new_postgresql_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    name = f"sctac_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(_admin_url(PG_URL)).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_admin_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    with _new_postgresql_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own, not migrated, for tests that walk the migrations themselves."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'blank.db'}"
        else:
            url = stack.enter_context(_new_postgresql_database())
        engine = make_engine(url)
        stack.callback(engine.dispose)
        yield engine


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'sctac.db'}"


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """One migrated database per backend for the whole run (migrations are part of what is tested)."""
    url = request.getfixturevalue(f"{request.param}_database")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    # The database's audit checkpoint (beside a SQLite file) describes the rows being wiped.
    checkpoint = checkpoint_path(database_url=engine.url)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    existing = set(inspect(engine).get_table_names())
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name in existing]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture(autouse=True)
def attachments_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's documents in a folder of its own (the default for PostgreSQL is the working
    directory), for the server in-process and for `sctac` run as a subprocess."""
    from workflow.settings import get_settings

    store = tmp_path / "attachments"
    monkeypatch.setattr(get_settings(), "attachments_path", store)
    monkeypatch.setenv("SCTAC_ATTACHMENTS_PATH", str(store))
    return store


@pytest.fixture
def rules() -> Rulebook:
    return get_rulebook()


# The rows the first seeding of a SQLite database wrote, by table, keyed by the database and the ruleset
# they were seeded from: each later test restores them in one INSERT per table, not the ORM's row-by-row
# seeding (a third of a short test's time; and in mutation runs, of every mutant's). Only SQLite: its
# INTEGER keys continue from the rows present, where PostgreSQL's sequences would not.
_seeded: dict[tuple[str, str], list[tuple[Any, list[dict[str, Any]]]]] = {}


def _seed(engine: Engine, rules: Rulebook) -> None:
    key = (str(engine.url), rules.ruleset.version)
    rows = _seeded.get(key)
    if rows is not None:
        with engine.begin() as conn:
            for table, values in rows:
                conn.execute(table.insert(), values)
        return
    with Session(engine) as s:
        sync_reference(s, rules=rules)
        for user in USERS:
            s.add(User(**user))
        s.add(HubTeam(**TEAM))
        s.commit()
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            found = [
                (t, [dict(r) for r in conn.execute(t.select()).mappings()])
                for t in SQLModel.metadata.sorted_tables
            ]
        _seeded[key] = [(t, values) for t, values in found if values]


@pytest.fixture
def engine(migrated_engine: Engine, rules: Rulebook) -> Iterator[Engine]:
    """A migrated, empty database with the reference data and one user per role."""
    _wipe(migrated_engine)
    dashboard.forget()  # figures kept for a few seconds describe the rows just wiped
    _seed(migrated_engine, rules)
    yield migrated_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


USERS: list[dict[str, Any]] = [
    {"username": "ds.ne", "display_name": "DS North East", "roles": ["requester"], "unit_code": "NE"},
    {"username": "analyst1", "display_name": "Analyst One", "roles": ["analyst", "case_owner"]},
    # Cleared for the OFFICIAL-SENSITIVE cases the factories make: only a cleared owner may be given one.
    {
        "username": "owner.east",
        "display_name": "Owner East",
        "roles": ["case_owner"],
        "hub_code": "EAST",
        "clearance": "OFFICIAL-SENSITIVE",
    },
    {
        "username": "owner.queue",
        "display_name": "Owner of the centre queue",
        "roles": ["case_owner"],
        "hub_code": "CENTRE",
        "clearance": "OFFICIAL-SENSITIVE",
    },
    {"username": "sup.east", "display_name": "Supervisor East", "roles": ["supervisor"], "hub_code": "EAST"},
    {"username": "chair", "display_name": "Tasking Chair", "roles": ["supervisor"]},
    {"username": "gone", "display_name": "Left the centre", "roles": ["case_owner"], "active": False},
]

# The team the lifecycle tests and golden traces task to (teams are reference data, not free text).
TEAM: dict[str, Any] = {"hub": "EAST", "code": "East 2", "name": "East team 2", "updated_by": "tests"}

GOLDEN = Path(__file__).parent / "golden"
