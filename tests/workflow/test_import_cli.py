"""`sctac import` and `sctac audit verify` after a disposal, end to end: one line per problem, never a
traceback, and a redaction reported apart from an alteration."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.workflow.test_audit_cli import run
from tests.workflow.test_importing import MAPPING, ROWS, _csv
from tests.workflow.test_retention import RECORDS, _close_p4
from workflow import service


def test_import_dry_run_then_import_then_again(engine: Engine, tmp_path: Path) -> None:
    bad = [list(r) for r in ROWS]
    bad[2][2] = "Nowhere BCU"
    path = _csv(tmp_path / "tracking.csv", bad)
    checked = run(engine, "import", str(path), "--mapping", str(MAPPING), "--dry-run")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert checked.stderr.splitlines() == [
        'tracking.csv:csv:4:BCU: no unit "Nowhere BCU"',
        "sctac: tracking.csv: 1 problem(s); nothing imported",
    ]
    skipped = run(engine, "import", str(path), "--mapping", str(MAPPING), "--skip-bad-rows", "--dry-run")
    assert skipped.returncode == 0, skipped.stderr
    assert 'skipped tracking.csv:csv:4:BCU: no unit "Nowhere BCU"' in skipped.stderr
    assert skipped.stdout.strip() == (
        "tracking.csv:csv: 3 rows; would import 2; 0 already imported; 1 problem(s) skipped"
    )
    good = _csv(tmp_path / "tracking.csv", ROWS)
    done = run(engine, "import", str(good), "--mapping", str(MAPPING))
    assert (
        done.stdout.strip()
        == "tracking.csv:csv: 3 rows; imported 3 (9 events); 0 already imported; 0 problem(s) skipped"
    )
    again = run(engine, "import", str(good), "--mapping", str(MAPPING))
    assert "imported 0 (0 events); 3 already imported" in again.stdout
    missing = run(engine, "import", str(tmp_path / "nope.xlsx"))
    assert missing.returncode == 1 and missing.stderr.strip().endswith("nope.xlsx: no such file")


def test_audit_verify_reports_a_redaction_apart(engine: Engine, session: Session) -> None:
    case_id = _close_p4(session)
    done = service.fire(
        session, case_id=case_id, trigger="dispose", by=RECORDS, data={"reason": "Past review"}
    )
    ok = run(engine, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0].startswith(f"REDACTED {done.reference} event 1: redacted by records1 on ")
    assert " under decision 1" in lines[0]
    assert lines[-1] == "audit ok: 1 cases, 7 events checked (1 redacted under recorded decisions)"
