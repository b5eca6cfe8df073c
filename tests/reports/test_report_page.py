"""Issue 12 item 22 (the evaluation page's part): the site's menu, a `<main>`, header cells in every
table, and chart labels that do not overlap (measured in a real browser where one is installed)."""

from __future__ import annotations

import itertools
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from api.report_render import render_html
from tests.browser.server import chromium, why_skip
from tests.web.pages import add_cast, make_case, visitor
from workflow.lifecycle import OUTCOMES
from workflow.reports.period import MAX_WEEKS, week_name


class _Outline(HTMLParser):
    """What the checks need of a page: its landmarks, its tables' header cells, its menu's links."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.mains = 0
        self.nav_links: list[str] = []
        self.tables: list[dict[str, int]] = []
        self.csrf = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "main":
            self.mains += 1
        if tag == "a" and "nav" in self.stack:
            self.nav_links.append(a.get("href") or "")
        if tag == "table":
            self.tables.append({"th_in_thead": 0, "rows": 0})
        if tag == "th" and "thead" in self.stack and self.tables:
            self.tables[-1]["th_in_thead"] += 1
        if tag == "tr" and "tbody" in self.stack and self.tables:
            self.tables[-1]["rows"] += 1
        if tag == "input" and a.get("name") == "csrf_token":
            self.csrf = a.get("value") or ""
        if tag not in ("input", "br", "meta", "link", "img", "line", "rect", "polyline", "path"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass


def _outline(html: str) -> _Outline:
    outline = _Outline()
    outline.feed(html)
    return outline


def test_the_evaluation_page_has_the_site_menu_a_main_and_header_cells(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "closed")
    page = visitor(engine, "sup.centre").get("/reports/evaluation")
    assert page.status_code == 200
    outline = _outline(page.text)
    assert outline.mains == 1
    assert {"/", "/cases", "/tasking", "/dashboard", "/reports/evaluation"} <= set(outline.nav_links)
    assert outline.csrf and "Sign out" in page.text
    assert len(outline.tables) >= 9
    assert all(t["th_in_thead"] >= 2 for t in outline.tables), outline.tables
    # The file `sctac report` writes has the same tables and landmark, and no menu of a site.
    figures = visitor(engine, "sup.centre").get("/reports/evaluation", params={"format": "json"}).json()
    document = _outline(render_html(figures))
    assert document.mains == 1 and document.nav_links == [] and not document.csrf


def _widest_figures(engine: Engine) -> dict[str, Any]:
    """A real report, stretched to the most weeks a report may have and every outcome there is."""
    add_cast(engine)
    make_case(engine, "closed")
    figures: dict[str, Any] = (
        visitor(engine, "sup.centre").get("/reports/evaluation", params={"format": "json"}).json()
    )
    weeks = [week_name(100_000 + i) for i in range(MAX_WEEKS)]
    figures["period"]["weeks"] = weeks
    figures["demand"]["requests_per_week"] = {w: i % 17 for i, w in enumerate(weeks)}
    figures["demand"]["backlog_at_week_end"] = {w: i for i, w in enumerate(weeks)}
    figures["outcomes"]["closed_by_outcome"] = {o: 3 + i for i, o in enumerate([*OUTCOMES, "unknown"])}
    return figures


SKIP = why_skip()

# Every x-axis label of every chart, as the browser lays it out: (chart, left, right, words).
_MEASURE = """() => [...document.querySelectorAll('svg.chart')].flatMap((svg, chart) =>
  [...svg.querySelectorAll('text.tick[text-anchor=middle]')].map(t => {
    const box = t.getBBox();
    return [chart, box.x, box.x + box.width, t.textContent];
  }))"""


@pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
def test_chart_labels_do_not_overlap_in_a_browser(engine: Engine) -> None:
    html = render_html(_widest_figures(engine))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_content(html)
        labels = page.evaluate(_MEASURE)
    assert labels
    by_chart: dict[int, list[tuple[float, float, str]]] = {}
    for chart, left, right, text in labels:
        by_chart.setdefault(chart, []).append((left, right, text))
    for chart, boxes in by_chart.items():
        boxes.sort()
        for (_, right, a), (left, _, b) in itertools.pairwise(boxes):
            assert right <= left, f"chart {chart}: {a!r} overlaps {b!r}"
    # Thinning never drops a category: every outcome is named under its column.
    outcome_words = " ".join(text for boxes in by_chart.values() for _, _, text in boxes)
    for outcome in [*OUTCOMES, "unknown"]:
        assert all(word in outcome_words for word in outcome.split("_")), outcome
