"""The `sctac` command line. Every domain error becomes one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from api import cli_audit, cli_capacity, cli_db, cli_demo, cli_forecast, cli_import, cli_notes, cli_worker
from api.cli_strategy import strategy_app
from api.cli_support import AS_HELP, acting_as, cli_session, engine_from_settings, fail, guarded, print_json
from api.cli_users import user_app
from workflow import lifecycle, localtime, queries, refusals, service
from workflow.principals import OPERATOR
from workflow.settings import get_settings

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(no_args_is_help=True, help="Database schema and reference data.")
case_app = typer.Typer(no_args_is_help=True, help="Submit, inspect and move cases.")
audit_app = typer.Typer(no_args_is_help=True, help="Verify the tamper-evident event log.")
rules_app = typer.Typer(no_args_is_help=True, help="Check, preview and publish rule files.")
app.add_typer(db_app, name="db")
app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(rules_app, name="rules")
app.add_typer(user_app, name="user")
app.add_typer(cli_notes.records_app, name="records")
app.add_typer(strategy_app, name="strategy")
app.command("demo")(cli_demo.demo_command)
app.command("report")(cli_demo.report_command)
app.command("forecast")(cli_forecast.forecast_command)
app.command("import")(cli_import.import_command)
cli_worker.register(app)
cli_capacity.register(app)
cli_audit.register(audit_app)
cli_db.register(db_app)


@db_app.command("upgrade")
@guarded
def db_upgrade() -> None:
    """Apply every migration, then add any hubs and units the active rules define."""
    from workflow.migrate import upgrade
    from workflow.reference import sync_reference

    engine = engine_from_settings()
    try:
        upgrade(engine)
        with Session(engine) as session:
            added = sync_reference(session)
    finally:
        engine.dispose()
    typer.echo(f"database at head; reference data: {added} added")


@db_app.command("index-targets")
@guarded
def db_index_targets() -> None:
    """File for deconfliction the target names of cases submitted before it existed (and record their
    candidate links); cases already filed are left alone, so it may be run again."""
    from workflow.db import utcnow
    from workflow.deconfliction import index

    with cli_session() as session:
        done = index.index_unfiled(session, now=utcnow())
    typer.echo(f"{done} cases filed for deconfliction")


@case_app.command("submit")
@guarded
def case_submit(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="JSON file with the request")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    summary: Annotated[str | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option(help="requesting unit code, e.g. NE")] = None,
    target_type: Annotated[str | None, typer.Option()] = None,
    target_name: Annotated[str | None, typer.Option()] = None,
    theme: Annotated[list[str] | None, typer.Option(help="repeat for several")] = None,
    capability: Annotated[list[str] | None, typer.Option(help="repeat for several")] = None,
    marking: Annotated[str | None, typer.Option()] = None,
    actor: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
) -> None:
    """Submit a request from flags or from a JSON file (flags override the file)."""
    request: dict[str, Any] = {}
    if file is not None:
        try:
            request = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise fail(f"{file}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise fail(f"{file}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
        if not isinstance(request, dict):
            raise fail(f"{file}: expected a JSON object with the request's fields")
    flags = {
        "title": title,
        "summary": summary,
        "requesting_unit": unit,
        "target_type": target_type,
        "target_name": target_name,
        "themes": theme or None,
        "capabilities": capability or None,
        "protective_marking": marking,
    }
    request.update({k: v for k, v in flags.items() if v is not None})
    with cli_session() as session:
        done = service.submit_case(session, request=request, by=acting_as(session, actor))
    typer.echo(f"{done.reference} submitted; routed to {done.case.hub}")


def _case_dict(case: Any) -> dict[str, Any]:
    return case.model_dump(exclude={"last_event_hash"})


@case_app.command("show")
@guarded
def case_show(key: Annotated[str, typer.Argument(help="reference (SCT-2026-000123) or id")]) -> None:
    """Show a case as JSON, with its latest decisions."""
    with cli_session() as session:
        case = queries.find_case(session, key=key)
        out = _case_dict(case)
        out["assessments"] = [a.model_dump() for a in queries.assessments(session, case_id=case.id or 0)]
        out["decisions"] = [d.model_dump() for d in queries.decisions(session, case_id=case.id or 0)]
    print_json(out)


@case_app.command("list")
@guarded
def case_list(
    state: Annotated[str | None, typer.Option()] = None,
    hub: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List cases, newest first."""
    if state is not None and state not in {s.value for s in lifecycle.State}:
        raise fail(f"--state: unknown state {state!r}; one of {', '.join(s.value for s in lifecycle.State)}")
    with cli_session() as session:
        for c in queries.list_cases(session, state=state, hub=hub, limit=limit):
            typer.echo(f"{c.reference}\t{c.state}\t{c.band or '-'}\t{c.hub or '-'}\t{c.title}")


@case_app.command("fire")
@guarded
def case_fire(
    key: Annotated[str, typer.Argument(help="reference or id")],
    trigger: Annotated[str, typer.Argument(help=f"one of: {', '.join(lifecycle.TRIGGERS)}")],
    reason: Annotated[str | None, typer.Option()] = None,
    hub: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    outcome: Annotated[str | None, typer.Option()] = None,
    progress: Annotated[str | None, typer.Option()] = None,
    data: Annotated[str | None, typer.Option(help="more fields as a JSON object, or @file.json")] = None,
    expected_version: Annotated[int | None, typer.Option("--if-version")] = None,
    actor: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
) -> None:
    """Fire a lifecycle trigger on a case."""
    fields: dict[str, Any] = {}
    if data is not None:
        source = data
        if data.startswith("@"):
            try:
                source = Path(data[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise fail(f"{data[1:]}: {exc.strerror}") from None
        try:
            fields = json.loads(source)
        except json.JSONDecodeError as exc:
            raise fail(f"--data:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
        if not isinstance(fields, dict):
            raise fail("--data: expected a JSON object")
    flags = {"reason": reason, "hub": hub, "owner": owner, "outcome": outcome, "progress": progress}
    fields.update({k: v for k, v in flags.items() if v is not None})
    with cli_session() as session:
        case = queries.find_case(session, key=key)
        done = service.fire(
            session,
            case_id=case.id or 0,
            trigger=trigger,
            by=acting_as(session, actor),
            expected_version=expected_version,
            data=fields,
        )
    typer.echo(f"{done.reference}: {done.from_state} -> {done.to_state} (version {done.version})")


@case_app.command("history")
@guarded
def case_history(key: Annotated[str, typer.Argument(help="reference or id")]) -> None:
    """The case's events, oldest first."""
    with cli_session() as session:
        case = queries.find_case(session, key=key)
        for ev in queries.history(session, case_id=case.id or 0):
            moved = f"{ev.from_state or '-'} -> {ev.to_state}"
            why = f"  ({ev.reason})" if ev.reason else ""
            when = localtime.stamp(ev.created_at)
            typer.echo(f"{ev.seq:>3}  {when}  {ev.actor:<16} {ev.trigger:<10} {moved}{why}")


@audit_app.command("refusals")
@guarded
def audit_refusals(
    user: Annotated[str | None, typer.Option(help="only this account's")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Who was refused what and why (a case they may not see, a role or clearance they lack), newest first."""
    with cli_session() as session:
        rows = refusals.list_refusals(session, who=OPERATOR, username=user, limit=limit)
        for r in rows:
            on = f" case {r.case_id}" if r.case_id is not None else ""
            typer.echo(f"{r.at:%Y-%m-%d %H:%M:%S}  {r.username:<16} {r.action}{on}  {r.kind}: {r.detail}")


def _rule_path(path: Path) -> Path:
    if not path.exists():
        raise fail(f"{path}: no such file or folder")
    return path


@rules_app.command("check")
@guarded
def rules_check(
    path: Annotated[Path, typer.Argument(help="a rule file, a folder of them, or a MoRiLE matrix file")],
    matrix: Annotated[bool, typer.Option("--matrix", help="check PATH as a MoRiLE matrix file")] = False,
) -> None:
    """Validate rule files (or a matrix file, recognised or with --matrix): every error with
    file:line:col, then overlaps and gaps as warnings."""
    import rules
    from workflow import rulesets

    as_matrix = matrix or rules.is_matrix_file(_rule_path(path))
    result = rules.check_matrix(path) if as_matrix else rulesets.check(path)
    for line in result.lines():
        typer.echo(line, err=not result.ok)
    if not result.ok:
        raise fail(f"{len(result.errors)} error(s) in {path}")
    if result.matrix is not None:
        m = result.matrix
        typer.echo(f"ok: {path} is matrix {m.id} {m.version}" + (" (placeholder)" if m.placeholder else ""))
        return
    if result.ruleset is None and result.retention is not None:
        r = result.retention
        typer.echo(f"ok: {path} is retention schedule {r.version} ({len(r.groups)} groups and a default)")
        return
    assert result.ruleset is not None
    count = len(result.ruleset.rules)
    typer.echo(
        f"ok: {path} is ruleset {result.ruleset.version} ({count} rules, {len(result.warnings)} warnings)"
    )


@rules_app.command("preview")
@guarded
def rules_preview(path: Annotated[Path, typer.Argument(help="the candidate rule file or folder")]) -> None:
    """Show what the candidate rules would change on the open caseload (nothing is changed)."""
    from workflow import rulesets

    with cli_session() as session:
        result = rulesets.preview(session, path=_rule_path(path))
    typer.echo(f"{result.current_version} -> {result.candidate_version}: {result.summary()}")
    for change in result.changes:
        typer.echo(f"  {_describe(change)}")
    for reference, why in result.errors:
        typer.echo(f"  {reference}: cannot be evaluated by the candidate: {why}", err=True)


def _describe(change: Any) -> str:
    parts = []
    if "reroute" in change.kinds:
        parts.append(f"route {change.route_from} -> {change.route_to}")
    if "team" in change.kinds:
        parts.append(f"team {change.team_from or 'none'} -> {change.team_to or 'none'}")
    if {"escalate", "de-escalate", "level"} & set(change.kinds):
        parts.append(f"escalation level {change.level_from or 0} -> {change.level_to or 0}")
    if "sla" in change.kinds:
        parts.append(f"SLA {change.sla_from} -> {change.sla_to}")
    if "review" in change.kinds:
        parts.append(f"review every {change.review_from} -> {change.review_to} days")
    if "policy" in change.kinds:
        parts.append("reminders, ladder or other policy")
    why = f"  (rules: {', '.join(change.rules_to)})" if change.rules_to else ""
    return f"{change.reference}: " + "; ".join(parts) + why


@rules_app.command("publish")
@guarded
def rules_publish(
    path: Annotated[Path, typer.Argument(help="the rule file or folder to make active")],
    actor: Annotated[str, typer.Option("--as", help="who is publishing")] = "cli",
    note: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Make these rules the active ruleset; earlier versions are kept for audit."""
    from workflow import rulesets

    with cli_session() as session:
        published, applied = rulesets.publish_and_apply(
            session, path=_rule_path(path), actor=actor, note=note
        )
    typer.echo(f"published {published.version}; {len(applied.changes)} open case(s) re-decided")
    for change in applied.changes:
        typer.echo(f"  {_describe(change)}")
    for reference, why in applied.errors:
        typer.echo(f"{reference}: the new rules cannot decide it, left as it was: {why}", err=True)
    for reference in applied.conflicts:
        typer.echo(
            f"{reference} changed while the rules were applied; run publish again to include it", err=True
        )


@app.command("lifecycle")
def lifecycle_diagram() -> None:
    """Print the lifecycle as a Mermaid diagram (generated from the machine definition)."""
    typer.echo(lifecycle.mermaid(), nl=False)


@app.command("serve")
@guarded
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="API processes (uvicorn's multi-process mode); more than 1 needs PostgreSQL and shared keys",
        ),
    ] = 1,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="fire timers and send notifications")
    ] = True,
    demo: Annotated[
        bool, typer.Option("--demo", help="fill an empty database with a simulated pathfinder")
    ] = False,
) -> None:
    """Migrate the database if needed and serve the API and pages (with one worker in-process)."""
    from api import serving

    settings = get_settings()
    serving.check_processes(settings, workers)
    # Before anything imports prometheus-client: it picks its multi-process mode at import.
    metrics_dir = serving.prepare_metrics_dir() if workers > 1 or serving.metrics_dir_set() else None

    import uvicorn

    from api import logs, metrics
    from notifications.worker import start_background_worker
    from workflow.chain import chain_key
    from workflow.migrate import upgrade
    from workflow.reference import sync_reference

    logs.configure(settings)
    engine = engine_from_settings()
    chain_key()  # a missing or unreadable chain key stops the start, not the first write
    upgrade(engine)
    with Session(engine) as session:
        sync_reference(session)
    if demo:
        _seed_demo(engine)
    metrics.listen()  # the in-process worker's timers, counted (in the shared folder when N > 1)
    handle = start_background_worker(engine, interval=settings.worker_interval) if worker else None
    # proxy_headers=False: the app believes X-Forwarded-* only from SCTAC_TRUSTED_PROXIES (api.app).
    # At shutdown, requests still running after the grace period are cancelled (a long report then
    # stops at its next check: api/report_render.py) instead of holding the process open.
    # access_log=False: api.logs writes the access line, with the route template rather than the path.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": logs.logging_config(settings),
        "access_log": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
        # How long the supervisor waits for a process to start or answer its ping before replacing it:
        # a process starting on a busy host takes several seconds to import (uvicorn's default is 5).
        "timeout_worker_healthcheck": 30,
    }
    try:
        if workers == 1:
            from api.app import create_app

            uvicorn.run(create_app(engine=engine), **options)
        else:
            # Each process builds its own app (and engine) from the same settings; this one supervises.
            uvicorn.run("api.app:create_app", factory=True, workers=workers, **options)
    finally:
        if handle is not None:
            handle.stop()
        engine.dispose()
        if metrics_dir is not None and metrics_dir[1]:
            serving.forget_metrics_dir(metrics_dir[0])


def _seed_demo(engine: Any) -> None:
    """Simulate 26 pathfinder weeks ending this week, unless the database already holds cases."""
    from datetime import date, timedelta

    from demo.simulation import run_demo

    with Session(engine) as session:
        if queries.count_cases(session):
            typer.echo("demo: the database already holds cases; serving them as they are")
            return
    today = date.today()
    weeks = 26
    start = today - timedelta(days=today.weekday(), weeks=weeks - 1)  # so the clocks run up to now
    typer.echo(f"demo: simulating {weeks} weeks of requests from {start:%d %b %Y} (about a minute, once)")
    summary = run_demo(engine, seed=2018, weeks=weeks, requests=2000, progress=True, start=start)
    cli_demo.print_summary(summary)


def main() -> None:
    from workflow.errors import ConfigError

    try:
        get_settings()
    except ConfigError as exc:
        typer.echo(f"sctac: {exc.detail}", err=True)
        sys.exit(2)
    app()
