"""Story 9 over HTTP: the evaluation as JSON and CSV for centre staff, refused to hub and unit staff."""

from __future__ import annotations

import csv
import io

from sqlalchemy.engine import Engine

from tests.api.clients import PROBLEM, add_cast, app_client, auth, make_case


def test_evaluation_as_json_and_csv_for_the_centre_only(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "tasked")
    make_case(engine, "rejected")
    client = app_client(engine)
    centre = auth(engine, "sup.centre")

    figures = client.get("/api/v1/reports/evaluation", headers=centre)
    assert figures.status_code == 200, figures.text
    body = figures.json()
    assert {"demand", "flow", "compliance", "morile", "outcomes", "workload"} <= set(body)

    as_csv = client.get("/api/v1/reports/evaluation?format=csv&from=2020-01-01&to=2100-01-01", headers=centre)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0][0] == "section" and len(rows) > 10

    hub = client.get("/api/v1/reports/evaluation", headers=auth(engine, "sup.east2"))
    assert hub.status_code == 403 and hub.headers["content-type"].startswith(PROBLEM)
    backwards = client.get("/api/v1/reports/evaluation?from=2026-02-01&to=2026-01-01", headers=centre)
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"
