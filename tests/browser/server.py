"""A real uvicorn server on 127.0.0.1 for the browser tests, and headless Debian Chromium to drive it."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import add_people
from tests.web.pages import PASSWORD, create_app
from workflow import hub_resources, reference
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.principals import system
from workflow.reference import sync_reference

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SENSITIVE = "OFFICIAL-SENSITIVE"
TEAM = "Centre surveillance 1"
# (username, roles, unit, hub) of the people in the journey; all cleared for OFFICIAL-SENSITIVE.
PEOPLE: list[tuple[str, list[str], str | None, str | None]] = [
    ("req.ne", ["requester"], "NE", None),
    ("analyst.centre", ["analyst"], None, None),
    ("sup.centre", ["supervisor"], None, None),
    ("owner.centre", ["case_owner"], None, None),
    ("admin", ["admin"], None, None),
]


def why_skip() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no browser download is needed)"
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def prepare(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        sync_reference(s)
        add_people(s, PEOPLE, clearance=SENSITIVE, password=PASSWORD)
        # Teams are reference data (issue 13): the journey tasks to this one, whichever hub has the case.
        for hub in reference.list_hubs(s):
            hub_resources.add_team(s, hub=hub.code, data={"code": TEAM, "name": TEAM}, by=system("tests"))
    return engine


@dataclass(frozen=True)
class Running:
    base_url: str
    engine: Engine


@contextmanager
def serve(engine: Engine) -> Iterator[Running]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(create_app(engine=engine), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{port}", engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
