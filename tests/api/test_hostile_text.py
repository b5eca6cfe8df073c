"""Issue 12 item 7: text that would show other than it reads is refused, and whatever is stored anyway
is shown visibly, in pages and e-mails, never obeyed."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from notifications.rendering import Renderer
from tests.api.clients import add_cast, app_client, auth, make_case
from tests.factories import request_data
from tests.web.pages import visitor
from workflow import spoofing

RLO = "\u202e"
ZWSP = "\u200b"


def test_direction_and_zero_width_characters_are_refused_naming_the_field(engine: Engine) -> None:
    add_cast(engine)
    api = app_client(engine)
    sent = {**request_data(), "title": f"Photo gnp{RLO}.exe", "target_name": f"Sm{ZWSP}ith"}
    answer = api.post("/api/v1/cases", headers=auth(engine, "req.ne"), json=sent)
    assert answer.status_code == 422
    problems = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in problems["body.title"]
    assert "U+200B ZERO WIDTH SPACE" in problems["body.target_name"]
    listed = api.get("/api/v1/cases", headers=auth(engine, "req.ne")).json()["items"]
    assert listed == []  # nothing written


def test_what_is_stored_anyway_is_shown_not_obeyed(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    with engine.begin() as conn:  # arrived another way: an old import, a hand edit
        conn.execute(text('UPDATE "case" SET title = :t WHERE id = :c'), {"t": f"gnp{RLO}.exe", "c": made.id})
    page = visitor(engine, "analyst.centre").get(f"/cases/{made.id}").text
    assert RLO not in page and "gnp\u27e8U+202E\u27e9.exe" in page


def test_e_mails_show_them_too() -> None:
    assert spoofing.visible(f"a{RLO}b{ZWSP}c") == "a\u27e8U+202E\u27e9b\u27e8U+200B\u27e9c"
    renderer = Renderer()
    for env in (renderer._html, renderer._text):  # the e-mails' HTML and plain-text environments
        assert env.from_string("{{ t }}").render(t=f"gnp{RLO}.exe") == "gnp\u27e8U+202E\u27e9.exe"
