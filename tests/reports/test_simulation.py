"""The pathfinder simulation is deterministic: one seed, one event log, one set of report figures.

The golden file holds a small summary of a 3-week, 60-request run and a digest of its event hashes (each
hash covers the event's trigger, states, actor, time, reason and payload), on SQLite and PostgreSQL alike.
Regenerate it after an intended change with SCTAC_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from api import cli_demo
from demo.simulation import run_demo
from tests.conftest import GOLDEN
from workflow import reports, service
from workflow.tables import EVENT, TIMER

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


def test_report_cli_refuses_more_than_five_years_naming_the_option(engine: Engine, tmp_path: Any) -> None:
    run_demo(engine, seed=3, weeks=1, requests=5, passwords=False)  # November 2018
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    far = runner.invoke(_app(), ["report", "--from", "2018-11-05", "--to", "4715-08-05", "--database", url])
    assert far.exit_code == 1
    (line,) = far.output.strip().splitlines()
    assert line.startswith("sctac: --to: a report covers at most 262 weeks (5 years)"), line
    assert "give a --to closer to --from" in line
    open_start = runner.invoke(_app(), ["report", "--to", "4715-08-05", "--database", url])
    assert open_start.exit_code == 1 and "sctac: --from: " in open_start.output
    out = tmp_path / "report.json"
    fine = runner.invoke(_app(), ["report", "--to", "2018-12-03", "--output", str(out), "--database", url])
    assert fine.exit_code == 0, fine.output
    assert json.loads(out.read_text(encoding="utf-8"))["demand"]["requests_total"] == 5


def test_the_simulation_ends_at_now(engine: Engine) -> None:
    """Issue 12 item 13: weeks that reach past now stop at now; nothing is written after it."""
    now = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # a Wednesday; two weeks from the 16th end on the 30th
    summary = run_demo(
        engine, seed=5, weeks=2, requests=60, start=date(2026, 11, 16), passwords=False, now=now
    )
    assert summary.end == now
    with Session(engine) as session:
        span = select(func.min(EVENT.c.created_at), func.max(EVENT.c.created_at))
        first, last = session.execute(span).one()
        fired = session.execute(
            select(func.count()).select_from(TIMER).where(TIMER.c.status == "fired")
        ).scalar_one()
        late = session.execute(
            select(func.count()).select_from(TIMER).where(TIMER.c.status == "fired", TIMER.c.due_at >= now)
        ).scalar_one()
    assert first >= datetime(2026, 11, 16, tzinfo=UTC) and last < now
    assert last > datetime(2026, 11, 23, tzinfo=UTC)  # and it ran into the second week
    assert fired > 0 and late == 0  # no timer due at or after now has fired
    with pytest.raises(ValueError, match="before now"):
        run_demo(engine, seed=5, weeks=1, requests=1, start=date(2026, 11, 30), passwords=False, now=now)


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
