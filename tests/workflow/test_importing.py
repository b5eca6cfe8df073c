"""Bulk import (issue 14, story 16): the pathfinder's sheet through the shipped column mapping; every
problem as file:sheet:row:column; nothing written unless clean (or --skip-bad-rows); re-import adds
nothing; the imported history hash-chained, audited and counted by the evaluation report; xlsx too."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from workflow import audit, importing
from workflow.errors import ImportRejected
from workflow.principals import Principal, system
from workflow.reports import evaluation
from workflow.tables import CASE, EVENT, IMPORTED

MAPPING = Path(__file__).parents[2] / "examples" / "import" / "pathfinder-2018.yaml"
HEADINGS = [
    "SCTaC Ref", "Date Received", "BCU", "Operation / Title", "Summary", "Target Type", "Target",
    "Control Strategy", "Assets Requested", "GPMS", "MoRiLE Priority", "MoRiLE Score", "Date Assessed",
    "SC Hub", "Case Owner", "Date Tasked", "Status", "Date Closed", "Result",
]  # fmt: skip
# Three rows as the centre kept them: one closed P4, one still live, one declined before assessment.
ROWS = [
    ["PF-0001", "03/09/2018", "NE BCU", "Op Larch", "Line into Essex", "OCG", "Forest Gate line",
     "Drugs; County lines", "Surveillance", "OS", "P4", "22", "05/09/2018", "EAST", "owner.east",
     "10/09/2018", "Closed", "20/12/2018", "Disrupted"],
    ["PF-0002", "2018-09-04", "SE BCU", "Op Birch", "Knife crime hotspot", "Location", "Woolwich estate",
     "Knife crime", "Covert policing", "O", "P2", "58", "2018-09-06", "SOUTH", "", "2018-09-12", "Live",
     "", ""],
    ["PF-0003", "05/09/2018", "CE BCU", "Op Cedar", "Not specialist", "Individual", "A. Nominal",
     "Violence", "", "O", "", "", "", "", "", "", "Declined", "07/09/2018", ""],
]  # fmt: skip
BY = system("import:test")


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADINGS)
        writer.writerows(rows)
    return path


def _run(session: Session, path: Path, **kw: object) -> importing.ImportResult:
    return importing.import_file(session, path=path, by=BY, mapping=importing.load_mapping(MAPPING), **kw)  # type: ignore[arg-type]


def _count(session: Session, table: object) -> int:
    return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_clean_sheet_comes_in_with_its_dates_states_and_scores(session: Session, tmp_path: Path) -> None:
    result = _run(session, _csv(tmp_path / "tracking.csv", ROWS))
    assert (result.rows, result.imported, result.already, result.events) == (3, 3, 0, 4 + 3 + 2)
    cases = session.execute(select(CASE).order_by(CASE.c.id)).mappings().all()
    assert [(c["state"], c["band"], c["requesting_unit"], c["hub"], c["owner"]) for c in cases] == [
        ("closed", "P4", "NE", "EAST", "owner.east"),
        ("tasked", "P2", "SE", "SOUTH", None),
        ("rejected", None, "CE", None, None),
    ]
    assert cases[0]["created_at"] == datetime(2018, 9, 3, 12, 0, tzinfo=UTC)
    assert cases[0]["themes"] == ["county_lines", "drugs"] and cases[0]["outcome"] == "disrupted"
    assert cases[0]["reference"] == f"SCT-2018-{cases[0]['id']:06d}"
    # Ended imported cases get their retention review from their ending date (closed P4: 3 years).
    assert cases[0]["retention_review_at"] == datetime(2021, 12, 20, 12, 0, tzinfo=UTC)
    first = session.execute(
        select(EVENT).where(EVENT.c.case_id == cases[0]["id"]).order_by(EVENT.c.seq)
    ).all()
    assert [(e.trigger, e.from_state, e.to_state, e.created_at.date().isoformat()) for e in first] == [
        ("imported", None, "submitted", "2018-09-03"),
        ("imported", "submitted", "assessed", "2018-09-05"),
        ("imported", "assessed", "tasked", "2018-09-10"),
        ("imported", "tasked", "closed", "2018-12-20"),
    ]
    assert first[0].payload["source"] == {
        "file": "tracking.csv",
        "sheet": "csv",
        "row": 2,
        "key": "pathfinder-2018:PF-0001",
    }
    report = audit.verify(session)
    assert report.ok, report.breaks
    assert (report.cases, report.events) == (3, 9)


def test_reimporting_the_same_file_adds_nothing(session: Session, tmp_path: Path) -> None:
    path = _csv(tmp_path / "tracking.csv", ROWS)
    _run(session, path)
    again = _run(session, path)
    assert (again.imported, again.already) == (0, 3)
    assert (_count(session, CASE), _count(session, EVENT), _count(session, IMPORTED)) == (3, 9, 3)
    # A sheet that grew by a row brings in just that row.
    more = [*ROWS, ["PF-0004", *ROWS[1][1:]]]
    grown = _run(session, _csv(tmp_path / "tracking.csv", more))
    assert (grown.imported, grown.already) == (1, 3)


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_written(
    session: Session, tmp_path: Path
) -> None:
    bad = [list(r) for r in ROWS]
    bad[0][2] = "SE  BCU X"  # not a unit the mapping or the reference data knows
    bad[1][10] = "P7"  # no such band
    bad[1][1] = "31/02/2018"  # no such date
    bad[2][16] = "Parked"  # no such state
    path = _csv(tmp_path / "tracking.csv", bad)
    with pytest.raises(ImportRejected) as err:
        _run(session, path, dry_run=True)
    assert err.value.lines == [
        'tracking.csv:csv:2:BCU: no unit "SE  BCU X" (did you mean SE?)',
        'tracking.csv:csv:3:Date Received: not a date: "31/02/2018" (use YYYY-MM-DD or DD/MM/YYYY)',
        'tracking.csv:csv:3:MoRiLE Priority: unknown band "P7" (one of P1, P2, P3, P4)',
        'tracking.csv:csv:4:Status: unknown state "Parked" (one of submitted, assessed, prioritised, tasked,'
        " reviewed, closed, rejected, withdrawn, or map it under values.state)",
    ]
    with pytest.raises(ImportRejected):
        _run(session, path)
    assert _count(session, CASE) == 0

    skipped = _run(session, path, skip_bad_rows=True)
    assert (skipped.imported, [p.row for p in skipped.skipped]) == (0, [2, 3, 3, 4])
    fixed = [list(r) for r in bad]
    fixed[1][1], fixed[1][10] = "2018-09-04", "P2"
    partly = _run(session, _csv(tmp_path / "tracking.csv", fixed), skip_bad_rows=True)
    assert (partly.imported, sorted({p.row for p in partly.skipped})) == (1, [2, 4])


def test_a_mapping_naming_a_missing_heading_is_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("SCTaC Ref,Date Recieved,BCU\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        _run(session, path)
    assert (
        "t.csv:csv:1:Date Received: no such column (for submitted_at) (did you mean Date Recieved?)"
        in err.value.lines
    )


def test_a_bad_mapping_file_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("source: x\ncolumns:\n  submited_at: Date\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        importing.load_mapping(bad)
    assert f"{bad}:3:3: columns.submited_at: not a field sctac imports" in err.value.lines[0]


def test_an_xlsx_workbook_reads_like_the_csv(session: Session, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Requests"
    sheet.append(HEADINGS)
    for row in ROWS:
        sheet.append(
            [datetime.strptime(c, "%d/%m/%Y") if i == 1 and "/" in c else c for i, c in enumerate(row)]
        )
    path = tmp_path / "tracking.xlsx"
    book.save(path)
    result = _run(session, path)
    assert (result.sheet, result.imported) == ("Requests", 3)
    assert (
        session.execute(select(EVENT.c.payload).where(EVENT.c.seq == 1).limit(1)).scalar_one()["source"][
            "sheet"
        ]
        == "Requests"
    )


def test_only_admins_import(session: Session, tmp_path: Path) -> None:
    analyst = Principal(username="a", roles=frozenset({"analyst"}))
    with pytest.raises(Exception, match="needs admin"):
        importing.import_file(session, path=_csv(tmp_path / "t.csv", ROWS), by=analyst)


def test_imported_history_is_in_the_evaluation_report(session: Session, tmp_path: Path) -> None:
    _run(session, _csv(tmp_path / "tracking.csv", ROWS))
    report = evaluation(
        session, who=BY, start=datetime(2018, 9, 3, tzinfo=UTC), end=datetime(2019, 1, 7, tzinfo=UTC)
    )
    assert report["demand"]["requests_total"] == 3
    assert report["outcomes"]["closed_by_outcome"] == {"disrupted": 1}
