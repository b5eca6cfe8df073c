"""The pathfinder simulation is deterministic: one seed, one event log, one set of report figures.

The golden file holds a small summary of a 3-week, 60-request run and a digest of its event hashes (each
hash covers the event's trigger, states, actor, time, reason and payload), on SQLite and PostgreSQL alike.
Regenerate it after an intended change with SCTAC_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from api import cli_demo
from demo.simulation import run_demo
from tests.conftest import GOLDEN
from workflow import reports, service

GOLDEN_FILE = GOLDEN / "reports" / "demo-seed7-3w-60.json"


def _digest(session: Session) -> str:
    event = service.EVENT
    hashes = session.execute(select(event.c.hash).order_by(event.c.case_id, event.c.seq)).scalars()
    return hashlib.sha256("".join(hashes).encode()).hexdigest()


def _summary(figures: dict[str, Any], digest: str, events: int) -> dict[str, Any]:
    return {
        "events": events,
        "event_log_sha256": digest,
        "requests_per_week": figures["demand"]["requests_per_week"],
        "backlog_at_week_end": figures["demand"]["backlog_at_week_end"],
        "time_in_submitted": figures["flow"]["time_in_stage_hours"]["submitted"],
        "sla": figures["compliance"]["sla"],
        "escalations": figures["compliance"]["escalations"],
        "first_assessment_bands": figures["morile"]["first_assessment_bands"],
        "open_by_state": figures["workload"]["open_by_state"],
        "assessments_per_analyst": figures["workload"]["assessments_per_analyst_per_week"],
    }


def test_same_seed_same_log_and_figures(engine: Engine) -> None:
    summary = run_demo(engine, seed=7, weeks=3, requests=60, passwords=False)
    assert summary.cases == 60
    assert summary.users and all(u.password is None for u in summary.users)
    with Session(engine) as session:
        figures = reports.evaluation(session, who=reports.OPERATOR)
        got = _summary(figures, _digest(session), summary.events)
    assert figures["demand"]["requests_total"] == 60
    if os.environ.get("SCTAC_UPDATE_GOLDEN") == "1":
        GOLDEN_FILE.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))


def test_report_cli_writes_every_format(engine: Engine, tmp_path: Any) -> None:
    run_demo(engine, seed=3, weeks=2, requests=25, passwords=False)
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    for fmt in ("json", "csv", "html"):
        out = tmp_path / f"report.{fmt}"
        args = ["--from", "2018-11-05", "--to", "2018-11-19", "--format", fmt, "--output", str(out)]
        result = runner.invoke(_app(), ["report", *args, "--database", url])
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        assert text
    figures = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert figures["demand"]["requests_total"] == 25
    assert (tmp_path / "report.csv").read_text().startswith("section,measure,key1,key2,key3,value\n")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (
        "<svg" in html
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    bad = runner.invoke(_app(), ["report", "--format", "pdf", "--database", url])
    assert bad.exit_code == 1 and "--format" in bad.output


def test_demo_cli_refuses_a_database_with_cases(engine: Engine) -> None:
    run_demo(engine, seed=1, weeks=1, requests=3, passwords=False)
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(_app(), ["demo", "--weeks", "1", "--requests", "2", "--database", url])
    assert result.exit_code == 1
    assert "already holds 3 cases" in result.output


def _app() -> Any:
    import typer

    app = typer.Typer()
    app.command("demo")(cli_demo.demo_command)
    app.command("report")(cli_demo.report_command)
    return app
