"""Every page each kind of user opens answers on a caseload written in bulk (cases in every state, with
assessments and open escalations), on SQLite and PostgreSQL. bench/pages.py times the same pages on a
large seed; this only checks that they answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.web.pages import create_app, visitor
from tests.web.seeded import page_plan, seed
from workflow.migrate import upgrade


@pytest.fixture
def seeded(blank_engine: Engine) -> Iterator[Engine]:
    upgrade(blank_engine)
    seed(blank_engine, 400)
    yield blank_engine


def test_every_page_answers_on_a_seeded_caseload(seeded: Engine) -> None:
    app = create_app(engine=seeded)
    answers = {}
    for username, paths in page_plan(seeded):
        v = visitor(seeded, username, app)
        for path in paths:
            answers[(username, path)] = v.get(path).status_code
    assert len(answers) == 22
    assert {key: status for key, status in answers.items() if status != 200} == {}
