"""The tasking list and the case page in headless Chromium: nothing wider than a 375 px phone, the
tasking list's actions redrawn in place with a confirmation naming the case, and the live MoRiLE
preview marking the fields it still needs (issue 12 items 16, 21, 22). Screenshots at 375 and 1280 px
go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from tests.browser.server import Running, chromium, prepare, serve, why_skip
from tests.browser.test_journey import shot
from tests.factories import DEFAULT_DATA, request_data, unchecked
from tests.web.pages import PASSWORD
from workflow import service

SKIP = why_skip()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
LONG_TITLE = "Supplyofclassadrugsacrossseveralboroughsbyonelineholder county line run from Newham into Essex"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    engine = prepare(tmp_path_factory.mktemp("narrow") / "sctac.db")
    with serve(engine) as running:
        yield running
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _case(server: Running, *triggers: str) -> tuple[int, str]:
    """A North East request (it routes to the EAST hub) driven through `triggers` by the real service."""
    with Session(server.engine, expire_on_commit=False) as s:
        done = service.submit_case(
            s, request=request_data(requesting_unit="NE", title=LONG_TITLE), by=unchecked("req.ne")
        )
        for trigger in triggers:
            done = service.fire(
                s,
                case_id=done.case_id,
                trigger=trigger,
                by=unchecked("analyst.centre"),
                data=DEFAULT_DATA[trigger],
            )
        return done.case_id, done.reference


def _signed_in(browser: Any, server: Running, username: str, width: int) -> Any:
    context = browser.new_context(base_url=server.base_url, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    return page


def _overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0 when nothing sticks out)."""
    width: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return width


def test_tasking_list_and_case_page_fit_a_375_px_phone(server: Running, browser: Any) -> None:
    submitted, _ = _case(server)
    assessed, _ = _case(server, "assess")
    _case(server, "assess", "prioritise")
    for username, path, name in (
        ("sup.centre", "/tasking", "20-tasking"),
        ("analyst.centre", f"/cases/{submitted}", "21-case-assessment-form"),
        ("sup.centre", f"/cases/{assessed}", "22-case-actions"),
    ):
        for width in (375, 1280):
            page = _signed_in(browser, server, username, width)
            page.goto(path)
            shot(page, f"{name}-{width}")
            assert _overflow(page) <= 0, f"{path} is {_overflow(page)} px wider than {width} px"
            page.context.close()


def test_a_tasking_action_redraws_its_hub_in_place_and_names_the_case(server: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    _, reference = _case(server, "assess")
    page = _signed_in(browser, server, "sup.centre", 1280)
    page.goto("/tasking")
    page.evaluate("() => { window.stillHere = true; }")  # lost if the whole page were loaded again
    row = page.locator("tr").filter(has_text=reference)
    row.get_by_role("button", name="Prioritise").click()
    notice = page.locator("#section-EAST [data-confirmation]")
    expect(notice).to_contain_text(f"{reference} prioritised")
    expect(notice).to_be_focused()
    assert page.evaluate("() => window.stillHere === true"), "the page was reloaded, not redrawn"
    row = page.locator("tr").filter(has_text=reference)
    expect(row).to_contain_text("prioritised")
    row.locator("select[name=owner]").select_option("owner.centre")
    row.get_by_role("button", name="Task").click()
    expect(notice).to_contain_text(f"{reference} tasked to EAST")
    expect(page.locator("#section-EAST tr").filter(has_text=reference)).to_have_count(0)  # off the list
    assert page.evaluate("() => window.stillHere === true")
    shot(page, "23-tasking-in-place")
    page.context.close()


def test_the_live_preview_marks_the_fields_it_still_needs(server: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    submitted, _ = _case(server)
    page = _signed_in(browser, server, "analyst.centre", 1280)
    page.goto(f"/cases/{submitted}")
    page.locator("select[name='assessment.harm.physical']").select_option("3")
    expect(page.locator("#score-preview")).to_contain_text("marked with an error")
    scope = page.locator("select[name='assessment.scope']")
    expect(scope).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#assessment-scope-error")).to_contain_text("missing")
    expect(page.locator("select[name='assessment.harm.physical']")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    scope.select_option("2")
    expect(scope).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#assessment-scope-error")).to_have_count(0)
    shot(page, "24-preview-marks-fields")
    page.context.close()


def test_the_api_docs_render_offline_under_their_csp(server: Running, browser: Any) -> None:
    """/docs draws every operation from this server's own Swagger UI, with no script refused by the
    CSP and no request to another host (issue 12 item 5; Swagger UI 4 could not read OpenAPI 3.1)."""
    context = browser.new_context(base_url=server.base_url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.goto("/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 30
    assert "/api/v1/cases/{case_id}/transitions/{trigger}" in page.content()
    assert problems == [] and hosts == {server.base_url.split("/")[2]}
    context.close()
