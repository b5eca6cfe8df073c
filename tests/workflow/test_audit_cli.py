"""Story 10: someone edits an event row by hand; `sctac audit verify` names it. And the CLI end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import case_in, request_data

SCTAC = str(Path(sys.executable).parent / "sctac")


def run(engine: Engine, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCTAC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return subprocess.run([SCTAC, *args], env=env, capture_output=True, text=True, input=stdin, timeout=60)


def test_audit_names_an_altered_event(engine: Engine, session: Session) -> None:
    case_in(session, "tasked")
    victim = case_in(session, "reviewed")
    ok = run(engine, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "audit ok: 2 cases, 9 events checked"

    with engine.begin() as conn:
        row_id = conn.execute(
            text(
                "UPDATE case_event SET reason = 'nothing to see' WHERE case_id = :c AND seq = 3 RETURNING id"
            ),
            {"c": victim.case_id},
        ).scalar_one()
    bad = run(engine, "audit", "verify")
    assert bad.returncode == 1
    assert (
        # The chain seals the reason and payload by their digest (so a redaction can keep its place).
        f"BROKEN {victim.reference} event 3 (row id {row_id}): reason or payload does not match its sealed"
        " digest (row altered)" in bad.stderr
    )
    assert "audit failed: 1 broken chain(s)" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_audit_names_an_event_whose_report_facts_were_edited(engine: Engine, session: Session) -> None:
    """The facts the report reads are not hashed; the audit rederives them from the hashed payload."""
    victim = case_in(session, "assessed")
    with engine.begin() as conn:  # quietly move the assessment to a lower band in every report
        band, row_id = conn.execute(
            text("SELECT band, id FROM case_event WHERE case_id = :c AND trigger = 'assess'"),
            {"c": victim.case_id},
        ).one()
        assert band is not None
        conn.execute(text("UPDATE case_event SET band = 'P5' WHERE id = :i"), {"i": row_id})
    bad = run(engine, "audit", "verify")
    assert bad.returncode == 1
    assert (
        f"BROKEN {victim.reference} event 2 (row id {row_id}): facts disagree with its payload: band"
        " (row altered)" in bad.stderr
    )


def test_audit_names_a_deleted_last_event(engine: Engine, session: Session) -> None:
    victim = case_in(session, "prioritised")
    with engine.begin() as conn:  # a thorough tamperer removes the event's outbox row too
        event = {"c": victim.case_id}
        conn.execute(
            text(
                "DELETE FROM event_outbox WHERE event_id IN"
                " (SELECT id FROM case_event WHERE case_id = :c AND seq = 3)"
            ),
            event,
        )
        conn.execute(text("DELETE FROM case_event WHERE case_id = :c AND seq = 3"), event)
    bad = run(engine, "audit", "verify")
    assert bad.returncode == 1
    assert (
        f"BROKEN {victim.reference} event 3: case head does not match its last event (event removed)"
        in bad.stderr
    )


def test_audit_names_a_forged_state_change(engine: Engine, session: Session) -> None:
    victim = case_in(session, "assessed")
    with engine.begin() as conn:
        conn.execute(text("UPDATE \"case\" SET state = 'closed' WHERE id = :c"), {"c": victim.case_id})
    bad = run(engine, "audit", "verify")
    assert bad.returncode == 1
    assert f"{victim.reference} event 2: case says closed but its events end in assessed" in bad.stderr


def test_cli_submit_fire_show_history(engine: Engine, tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    # --as acts as that account, checked like a signed-in person: ds.ne is cleared for OFFICIAL only.
    request.write_text(json.dumps(request_data(protective_marking="OFFICIAL")))
    sub = run(engine, "case", "submit", "--file", str(request), "--as", "ds.ne")
    assert sub.returncode == 0, sub.stderr
    reference = sub.stdout.split()[0]
    assert sub.stdout.strip() == f"{reference} submitted; routed to EAST"

    rej = run(engine, "case", "fire", reference, "reject", "--reason", "Local matter", "--as", "analyst1")
    assert rej.returncode == 0, rej.stderr
    assert rej.stdout.strip() == f"{reference}: submitted -> rejected (version 2)"

    shown = json.loads(run(engine, "case", "show", reference).stdout)
    assert (shown["reference"], shown["state"], shown["hub"]) == (reference, "rejected", "EAST")

    hist = run(engine, "case", "history", reference).stdout.splitlines()
    assert [line.split()[3:5] for line in hist] == [["ds.ne", "submit"], ["analyst1", "reject"]]
    assert hist[1].endswith("submitted -> rejected  (Local matter)")

    listed = run(engine, "case", "list", "--state", "rejected").stdout
    assert listed.startswith(f"{reference}\trejected\t-\tEAST\t")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["case", "show", "SCT-2026-424242"], "sctac: no case SCT-2026-424242"),
        (
            ["case", "show", "banana"],
            "sctac: 'banana' is neither a case reference (SCT-YYYY-NNNNNN) nor an id",
        ),
        (
            ["case", "fire", "1", "explode"],
            "sctac: cannot explode a case that is submitted; legal from submitted: ",
        ),
        (
            ["case", "fire", "1", "reject"],
            "sctac: cannot reject: reason: a reason is required to reject a request",
        ),
        (["case", "fire", "1", "assess", "--data", "{oops"], "sctac: --data:1:2: malformed JSON: "),
        (
            ["case", "submit", "--title", "Only a title"],
            "sctac: summary: Field required; requesting_unit: Field required",
        ),
        (["case", "list", "--state", "lost"], "sctac: --state: unknown state 'lost'; one of submitted, "),
    ],
)
def test_cli_bad_input_is_one_clear_line(
    engine: Engine, session: Session, args: list[str], message: str
) -> None:
    case_in(session, "submitted")
    out = run(engine, *args)
    assert out.returncode != 0
    assert out.stderr.startswith(message), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_cli_bad_json_file_names_file_and_line(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "req.json"
    bad.write_text('{\n  "title": "x",\n  oops\n}')
    out = run(engine, "case", "submit", "--file", str(bad))
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        == f"sctac: {bad}:3:3: malformed JSON: Expecting property name enclosed in double quotes"
    )


def test_cli_bad_database_url_is_one_line() -> None:
    env = {**os.environ, "SCTAC_DATABASE_URL": "mysql://nope"}
    out = subprocess.run([SCTAC, "case", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith(
        "sctac: bad configuration: SCTAC_DATABASE_URL: Value error, unsupported database 'mysql'"
    )
    assert "Traceback" not in out.stderr
