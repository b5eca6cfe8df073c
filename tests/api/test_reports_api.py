"""Story 9 over HTTP: the evaluation as JSON and CSV for centre staff, refused to hub and unit staff."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import PROBLEM, add_cast, app_client, assert_problem, auth, make_case
from tests.factories import request_data, unchecked
from workflow import service


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


def test_evaluation_counts_only_what_the_reader_is_cleared_for(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "assessed")  # OFFICIAL-SENSITIVE
    make_case(engine, "assessed", protective_marking="OFFICIAL")
    client = app_client(engine)
    wide = client.get("/api/v1/reports/evaluation", headers=auth(engine, "admin")).json()
    narrow = client.get("/api/v1/reports/evaluation", headers=auth(engine, "admin.official")).json()
    assert wide["demand"]["requests_total"] == 2 and wide["source"]["cases_read"] == 2
    assert narrow["demand"]["requests_total"] == 1 and narrow["source"]["cases_read"] == 1
    assert narrow["morile"]["assessments_by_band"] == {"P4": 1}


def test_a_period_beyond_five_years_of_the_log_is_a_422_naming_the_field(engine: Engine) -> None:
    add_cast(engine)
    with Session(engine, expire_on_commit=False) as s:  # a log that began in 2019
        service.submit_case(
            s, request=request_data(), by=unchecked("req.ne"), now=datetime(2019, 1, 7, 9, tzinfo=UTC)
        )
    make_case(engine, "submitted")  # and goes on to now
    client = app_client(engine)
    centre = auth(engine, "sup.centre")
    for query, field in (("to=4715-08-05", "from"), ("from=2019-01-01&to=4715-08-05", "to")):
        refused = client.get(f"/api/v1/reports/evaluation?{query}", headers=centre)
        body = assert_problem(refused, 422)
        assert body["errors"][0]["field"] == field and "at most 262 weeks" in body["errors"][0]["message"]
    recent = client.get("/api/v1/reports/evaluation?from=2024-01-01&to=4715-08-05", headers=centre)
    assert recent.status_code == 200, recent.text
    weeks = recent.json()["period"]["weeks"]
    assert weeks[0] == "2024-01-01" and len(weeks) <= 262 and recent.json()["demand"]["requests_total"] == 1
