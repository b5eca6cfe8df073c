"""The records pages (issue 14): the retention queue for the records officer, dated from closing dates,
with retain and dispose on the case page; the admin import page with row-and-column problems."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import add_people
from tests.web.pages import add_cast, make_case, visitor
from tests.workflow.test_importing import HEADINGS, MAPPING, ROWS
from workflow import audit
from workflow.tables import CASE, RETENTION

RECORDS = [("records.officer", ["records_officer"], None, None)]


def _due(engine: Engine, case_id: int) -> None:
    """Bring a closed case's review date into the past (as if its years had passed)."""
    with engine.begin() as conn:
        conn.execute(
            update(CASE)
            .where(CASE.c.id == case_id)
            .values(retention_review_at=datetime(2020, 1, 1, tzinfo=UTC))
        )


def test_the_queue_lists_due_cases_and_the_case_page_offers_retain_and_dispose(engine: Engine) -> None:
    add_cast(engine)
    with Session(engine) as s:
        add_people(s, RECORDS)
    closed = make_case(engine, "closed")
    live = make_case(engine, "tasked")
    officer = visitor(engine, "records.officer")
    assert closed.reference not in officer.get("/records/retention").text  # not due for 3 years
    coming = officer.get("/records/retention?coming=1").text
    assert closed.reference in coming and live.reference not in coming
    _due(engine, closed.id)
    page = officer.get("/records/retention")
    assert page.status_code == 200 and closed.reference in page.text and "(due)" in page.text
    case_page = officer.get(f"/cases/{closed.id}").text
    assert (
        f"/cases/{closed.id}/actions/retain" in case_page
        and f"/cases/{closed.id}/actions/dispose" in case_page
    )
    assert officer.get(f"/cases/{live.id}").status_code == 404  # open work is not their need to know

    kept = officer.post(
        f"/cases/{closed.id}/actions/retain",
        {"version": str(closed.version), "reason": "Linked OCG still active", "next_review": "2035-06-01"},
    )
    assert kept.status_code == 303, kept.text
    gone = officer.post(
        f"/cases/{closed.id}/actions/dispose", {"version": str(closed.version + 1), "reason": ""}
    )
    assert gone.status_code == 422 and "a disposal records the decision and its reason" in gone.text
    gone = officer.post(
        f"/cases/{closed.id}/actions/dispose", {"version": str(closed.version + 1), "reason": "Past review"}
    )
    assert gone.status_code == 303, gone.text
    after = officer.get(f"/cases/{closed.id}")
    assert after.status_code == 200 and "[redacted]" in after.text
    assert "History verified" in after.text and "Personal data was removed from 1 of them" in after.text
    assert "The Forest Gate line" not in after.text  # the target's name is gone from the page
    with Session(engine) as s:
        decisions = s.execute(select(RETENTION.c.decision).order_by(RETENTION.c.id)).scalars().all()
        assert decisions == ["retain", "dispose"]
        report = audit.verify(s)
    assert report.ok and [r.seq for r in report.redacted] == [1]
    assert visitor(engine, "analyst.centre").get("/records/retention").status_code == 403


def test_the_import_page_checks_then_imports(engine: Engine, tmp_path: Path) -> None:
    add_cast(engine)
    admin = visitor(engine, "admin")
    assert admin.get("/admin/import").status_code == 200
    bad = [list(r) for r in ROWS]
    bad[1][10] = "P7"
    sheet = ",".join(HEADINGS) + "\n" + "\n".join(",".join(f'"{c}"' for c in r) for r in bad) + "\n"
    files = {
        "file": ("tracking.csv", sheet.encode(), "text/csv"),
        "mapping": ("m.yaml", MAPPING.read_bytes(), "text/yaml"),
    }
    checked = admin.post("/admin/import", {"action": "check"}, files=files)
    assert checked.status_code == 422
    assert (
        "tracking.csv:csv:3:MoRiLE Priority: unknown band &#34;P7&#34; (one of P1, P2, P3, P4)"
        in checked.text
    )
    good = ",".join(HEADINGS) + "\n" + "\n".join(",".join(f'"{c}"' for c in r) for r in ROWS) + "\n"
    files = {
        "file": ("tracking.csv", good.encode(), "text/csv"),
        "mapping": ("m.yaml", MAPPING.read_bytes(), "text/yaml"),
    }
    done = admin.post("/admin/import", {"action": "import"}, files=files)
    assert done.status_code == 200 and "imported 3 (9 events)" in done.text
    with Session(engine) as s:
        first = s.execute(select(CASE.c.id).order_by(CASE.c.id)).scalars().first()
    shown = admin.get(f"/cases/{first}")
    assert shown.status_code == 200 and "Op Larch" in shown.text  # an imported history renders
    assert visitor(engine, "analyst.centre").get("/admin/import").status_code == 403
