"""`sctac audit verify` and `sctac audit checkpoint`: the tamper-evident event log from the command line.

Registered on the `audit` group by `register(audit_app)` in api/cli.py. What each check defends
against is in workflow/audit.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_support import cli_session, fail, guarded
from workflow import audit, checkpoints
from workflow.chain import chain_key

CheckpointOption = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="checkpoint file (default: SCTAC_CHECKPOINT_PATH, or <database>.checkpoint beside SQLite)",
    ),
]


def _report_breaks(report: audit.AuditReport) -> None:
    for brk in report.breaks:
        typer.echo(f"BROKEN {brk}", err=True)
    if report.checkpoint_problem:
        typer.echo(f"BROKEN checkpoint {report.checkpoint_problem}", err=True)


def _failure(report: audit.AuditReport, summary: str) -> typer.Exit:
    problems = len(report.breaks) + (1 if report.checkpoint_problem else 0)
    return fail(f"audit failed: {report.broken_cases} broken chain(s), {problems} problem(s); {summary}")


@guarded
def audit_verify(checkpoint: CheckpointOption = None) -> None:
    """Recompute every keyed chain, check each case row against its last event and every chain against
    the latest signed checkpoint; exit 1 naming each altered, forged or removed event."""
    path = checkpoint or checkpoints.checkpoint_path()
    if checkpoint is not None and not checkpoint.exists():
        raise fail(f"{checkpoint}: no such checkpoint file")
    with cli_session() as session:
        report = audit.verify(session, checkpoint_file=path)
    _report_breaks(report)
    for redacted in report.redacted:  # lawful, recorded removals: apart from the breaks, and not one
        typer.echo(f"REDACTED {redacted}")
    summary = f"{report.cases} cases, {report.events} events checked"
    if report.redacted:
        summary += f" ({len(report.redacted)} redacted under recorded decisions)"
    if not report.ok:
        raise _failure(report, summary)
    if report.checkpoint is not None:
        summary += f"; every head of the checkpoint of {report.checkpoint.when} is present"
    elif path is None:
        typer.echo(
            "sctac: note: no checkpoint file is configured (SCTAC_CHECKPOINT_PATH): a deleted tail of"
            " events cannot be detected",
            err=True,
        )
    else:
        typer.echo(f"sctac: note: no checkpoint at {path} yet: run `sctac audit checkpoint`", err=True)
    typer.echo(f"audit ok: {summary}")


@guarded
def audit_checkpoint(checkpoint: CheckpointOption = None) -> None:
    """Verify everything, then sign every chain head into the checkpoint file (run it periodically)."""
    path = checkpoint or checkpoints.checkpoint_path()
    if path is None:
        raise fail("no checkpoint file is configured: set SCTAC_CHECKPOINT_PATH or give --checkpoint")
    with cli_session() as session:
        report = audit.verify(session, checkpoint_file=path)
        if not report.ok:
            _report_breaks(report)
            raise _failure(report, "no checkpoint written")
        written = checkpoints.write_checkpoint(session, path=path)
    typer.echo(
        f"checkpoint written: {path}: {len(written.heads)} chain heads, {written.events} events,"
        f" signed with chain key {chain_key().key_id}"
    )


def register(audit_app: typer.Typer) -> None:
    audit_app.command("verify")(audit_verify)
    audit_app.command("checkpoint")(audit_checkpoint)
