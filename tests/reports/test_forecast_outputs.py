"""The forecast's outputs (#16): the page with its charts and scenario inputs, the API (JSON and CSV),
`sctac forecast` in every format, and their refusals, on one simulated pathfinder."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app as cli
from api.forecast_render import CSV_HEADER, render_html
from demo.simulation import run_demo
from tests.api.clients import app_client, assert_problem, auth
from tests.browser.server import chromium, why_skip
from tests.reports.test_report_page import _MEASURE
from tests.web.pages import visitor
from workflow.reports import OPERATOR, fbc

SKIP = why_skip()

DEMO = {"seed": 4, "weeks": 10, "requests": 150, "passwords": False}


def test_page_api_and_cli_show_the_same_forecast(engine: Engine, tmp_path: Path) -> None:
    run_demo(engine, **DEMO)  # type: ignore[arg-type]
    chair = visitor(engine, "chair")
    page = chair.get("/reports/forecast")
    assert page.status_code == 200, page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert html.count("<svg") >= 5  # the fan chart, staffing against demand and attainment for each pool
    assert 'class="band80"' in html and 'class="band95"' in html
    assert "assumed: no effort recorded" in html  # the demo records no minutes: said, and assumed
    assert (
        'name="demand_growth"' in html and 'name="new_theme"' in html and 'name="assessment_effort"' in html
    )

    figures = chair.get("/reports/forecast", params={"format": "json"}).json()
    grown = chair.get("/reports/forecast", params={"format": "json", "demand_growth": "20"}).json()
    assert grown["series"][0]["mean"][0] == pytest.approx(figures["series"][0]["mean"][0] * 1.2, abs=0.02)
    assert grown["scenario"]["demand_growth"] == 20
    download = chair.get("/reports/forecast", params={"format": "csv", "demand_growth": "20"})
    assert download.headers["content-disposition"].startswith("attachment;")
    table = list(csv.reader(io.StringIO(download.text)))
    assert tuple(table[0]) == CSV_HEADER
    first = next(r for r in table if r[:3] == ["forecast", "mean", "overall:overall"])
    assert float(first[5]) == grown["series"][0]["mean"][0]

    # The API: the same figures for staff, a 403 for a requester, a 422 naming the target for an
    # impossible one, and a bad number named too.
    client = app_client(engine)
    api = client.get("/api/v1/reports/forecast", headers=auth(engine, "chair"))
    assert api.status_code == 200 and api.json()["series"][0]["mean"] == figures["series"][0]["mean"]
    assert_problem(client.get("/api/v1/reports/forecast", headers=auth(engine, "req.ne")), 403)
    impossible = client.get(
        "/api/v1/reports/forecast", params={"target": "assess=100@0"}, headers=auth(engine, "chair")
    )
    body = assert_problem(impossible, 422)
    assert "target" in json.dumps(body) and "cannot be promised" in body["detail"]
    bad = client.get(
        "/api/v1/reports/forecast", params={"demand_growth": "lots"}, headers=auth(engine, "chair")
    )
    assert "demand_growth" in json.dumps(assert_problem(bad, 422))

    # The command line, reading the same database as the operator.
    db = ["--database", engine.url.render_as_string(hide_password=False)]
    runner = CliRunner()
    done = runner.invoke(cli, ["forecast", "--format", "json", *db])
    assert done.exit_code == 0, done.output
    # It reads as the operator, who sees every case; the chair (cleared to OFFICIAL) sees fewer.
    everything = json.loads(done.stdout)
    assert everything["history"]["requests"] == DEMO["requests"] >= figures["history"]["requests"]
    for fmt in ("csv", "html"):
        out = tmp_path / f"f.{fmt}"
        done = runner.invoke(cli, ["forecast", "--format", fmt, "--weeks", "8", "-o", str(out), *db])
        assert done.exit_code == 0, done.output
        assert out.read_text(encoding="utf-8")
    refused = runner.invoke(cli, ["forecast", "--target", "assess=100@24", *db])
    assert refused.exit_code == 1
    assert refused.stderr.strip().startswith("sctac: --target:") and "Traceback" not in refused.output
    assert len(refused.stderr.strip().splitlines()) == 1


def test_too_little_history_says_so_on_the_page_and_the_command_line(engine: Engine) -> None:
    run_demo(engine, seed=4, weeks=3, requests=20, passwords=False)
    page = visitor(engine, "chair").get("/reports/forecast")
    assert page.status_code == 409
    assert "needs at least 8" in page.text and "<svg" not in page.text


@pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
def test_forecast_chart_labels_do_not_overlap_in_a_browser(engine: Engine) -> None:
    run_demo(engine, seed=4, weeks=9, requests=90, passwords=False)
    with Session(engine) as session:
        out = fbc.outlook(session, who=OPERATOR, inputs=fbc.Inputs(horizon=fbc.MAX_HORIZON))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_content(render_html(out))
        labels = page.evaluate(_MEASURE)
    by_chart: dict[int, list[tuple[float, float, str]]] = {}
    for chart, left, right, text in labels:
        by_chart.setdefault(chart, []).append((left, right, text))
    assert len(by_chart) >= 5
    for chart, boxes in by_chart.items():
        boxes.sort()
        for (_, right, a), (left, _, b) in itertools.pairwise(boxes):
            assert right <= left, f"chart {chart}: {a!r} overlaps {b!r}"
