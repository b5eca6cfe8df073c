"""Stories 1-5 in headless Chromium against a real uvicorn server: a requester submits, an analyst
scores it and watches the band appear, a supervisor acknowledges the escalation and tasks the case, and
the owner records the review. Screenshots of each page go to tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.server import ARTIFACTS, Running, chromium, prepare, serve, why_skip
from tests.web.pages import PASSWORD

SKIP = why_skip()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    engine = prepare(tmp_path_factory.mktemp("browser") / "sctac.db")
    with serve(engine) as running:
        yield running
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser: Any, server: Running, username: str, *, screenshot: str | None = None) -> Any:
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/")
    assert "/login" in page.url, "an anonymous visit goes to the sign-in page"
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    if screenshot:
        shot(page, screenshot)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    return page


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    page.context.close()


MORILE = {
    "assessment.harm.physical": "4",
    "assessment.harm.psychological": "4",
    "assessment.harm.financial": "3",
    "assessment.harm.community": "4",
    "assessment.harm.environmental": "0",
    "assessment.scope": "4",
    "assessment.likelihood": "5",
    "assessment.vulnerability": "3",
    "assessment.capacity": "2",
    "assessment.capability": "4",
    "assessment.intelligence.source": "1",
    "assessment.intelligence.grade": "B",
    "assessment.intelligence.handling": "P",
}


def test_request_to_review(server: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    # Story 1: a requester in North East BCU submits a request and sees its reference at once.
    page = sign_in(browser, server, "req.ne", screenshot="01-login")
    shot(page, "02-my-work-requester")
    page.get_by_role("link", name="New request").first.click()
    page.get_by_role("button", name="Submit the request").click()
    expect(page.locator(".notice-error")).to_contain_text("not submitted")
    shot(page, "03-new-request-errors")
    page.get_by_label("Title").fill("County line run from Newham into Essex")
    page.get_by_label("Target type").select_option("ocg")
    page.get_by_label("Target name").fill("The Forest Gate line")
    for theme in ("drugs", "county_lines", "child_exploitation"):
        page.check(f"input[name=themes][value={theme}]")
    for capability in ("surveillance", "financial_investigation"):
        page.check(f"input[name=capabilities][value={capability}]")
    page.get_by_label("Summary").fill(
        "Line holder supplying class A into Basildon using children as runners."
    )
    page.check("input[name=protective_marking][value=OFFICIAL-SENSITIVE]")
    page.get_by_role("button", name="Submit the request").click()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"SCT-\d{4}-\d{6}", reference)
    expect(page.locator("#assessment-due")).not_to_have_text("—")
    shot(page, "04-request-submitted")
    sign_out(page)

    # Story 2: an analyst scores it; the band appears as she types, before anything is saved.
    page = sign_in(browser, server, "analyst.centre")
    page.get_by_role("link", name=reference).first.click()
    expect(page.locator("h1")).to_contain_text(reference)
    for name, value in MORILE.items():
        page.locator(f"select[name='{name}']").select_option(value)
    expect(page.locator("#score-preview")).to_contain_text("P1 Very High")
    expect(page.locator("#score-preview")).to_contain_text("placeholder matrix")
    shot(page, "05-assessment-live-preview")
    page.get_by_role("button", name="Save the assessment").click()
    expect(page.locator(".facts")).to_contain_text("assessed")
    expect(page.locator(".facts .band")).to_contain_text("P1")
    expect(page.locator("#decisions-h + .scroll")).to_contain_text("rs-")
    shot(page, "06-case-assessed")
    sign_out(page)

    # Story 3: the supervisor acknowledges the escalation; story 4: prioritises and tasks it.
    page = sign_in(browser, server, "sup.centre")
    expect(page.locator("#esc-h")).to_be_visible()
    shot(page, "07-my-work-supervisor")
    page.get_by_role("link", name="Escalations").first.click()
    article = page.locator("article.escalation").filter(has_text=reference)
    article.get_by_label("Note (what you are doing about it)").fill("Regional support requested from ROCU.")
    shot(page, "08-escalations")
    article.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".notice-ok")).to_contain_text("acknowledged")
    page.get_by_role("link", name="Tasking list").click()
    shot(page, "09-tasking-list")
    # Story 4: deferred with a reason first (it stays on the list, saying why), then prioritised.
    row = page.locator("tr").filter(has_text=reference)
    row.locator("summary", has_text="Defer").click()
    row.get_by_label(f"Why defer {reference}?").fill("Awaiting the regional support decision.")
    row.get_by_role("button", name="Defer").click()
    row = page.locator("tr").filter(has_text=reference)
    expect(row).to_contain_text("Deferred")
    expect(row).to_contain_text("Awaiting the regional support decision.")
    row.get_by_role("button", name="Prioritise").click()
    row = page.locator("tr").filter(has_text=reference)
    expect(row).not_to_contain_text("Deferred")
    row.locator("select[name=team]").select_option("Centre surveillance 1")
    row.locator("select[name=owner]").select_option("owner.centre")
    row.get_by_role("button", name="Task").click()
    page.goto("/dashboard")
    shot(page, "10-dashboard")
    sign_out(page)

    # Story 5: the owner sees the case with its review date and records the review.
    page = sign_in(browser, server, "owner.centre")
    mine = page.locator("#mine-h").locator("xpath=..")
    expect(mine).to_contain_text(reference)
    expect(mine).to_contain_text("review")
    shot(page, "11-my-work-owner")
    mine.get_by_role("link", name=reference).click()
    page.locator("summary", has_text="Record a review").click()
    page.get_by_label("Progress (required)").fill("Two warrants executed; line phone seized.")
    page.check("input[name=strands][value=pursue]")
    page.get_by_role("button", name="Record a review").click()
    expect(page.locator(".facts")).to_contain_text("reviewed")
    expect(page.locator(".timeline")).to_contain_text("escalation acknowledged")
    shot(page, "12-case-reviewed")
    page.goto("/cases")
    shot(page, "13-cases")
    sign_out(page)


def test_rules_page_reports_errors_by_line(server: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, server, "admin")
    page.get_by_role("link", name="Rules").click()
    routing = page.get_by_label("routing.yaml")
    text = routing.input_value()
    routing.fill(text.replace("default_route:", "default_rout:", 1))
    page.get_by_role("button", name="Check and preview").click()
    expect(page.locator("#rule-problems")).to_contain_text("routing.yaml")
    shot(page, "14-rules-errors")
    sign_out(page)


def test_artifacts_written() -> None:
    assert Path(ARTIFACTS).exists()
