"""Out of the screen (issue 13): the tasking list as xlsx and as a PDF meeting pack holding every open
case (not the page's 30 per hub), and the case list as xlsx and CSV with its filters; formulas and
bidi controls are neutralised in every cell. Each file is read back (openpyxl, pypdf, csv)."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.web.pages import add_cast, make_case, visitor
from workflow.reads.tasking import PER_HUB
from workflow.tables import CASE

HOSTILE = '=HYPERLINK("http://evil.example","x")'
RLO = "\u202e"


def _smuggle(engine: Engine, case_id: int, **values: str) -> None:
    """Text the submission check refuses (bidi controls), written straight into the row, as data from
    before the check or another system would hold it: the exports must still never obey it."""
    with Session(engine) as s:
        s.execute(update(CASE).where(CASE.c.id == case_id).values(**values))
        s.commit()


def _many(engine: Engine, n: int) -> list[str]:
    return [make_case(engine, "assessed", title=f"Request number {i:03d}").reference for i in range(n)]


def test_the_spreadsheet_and_the_pack_hold_every_open_case(engine: Engine) -> None:
    add_cast(engine)
    references = _many(engine, PER_HUB + 3)  # more than the page shows of one hub
    made = make_case(engine, "assessed", title=HOSTILE)
    _smuggle(engine, made.id, deferred_reason=f"abc{RLO}gnp.exe", title=f"{HOSTILE} {RLO}x")
    hostile = made.reference
    references.append(hostile)
    v = visitor(engine, "sup.centre")
    page = v.get("/tasking").text
    assert len(re.findall(r'<tr id="row-\d+">', page)) == PER_HUB

    got = v.get("/tasking/export.xlsx")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(got.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    col = {name: header.index(name) for name in ("Reference", "Rank", "Why it ranks here", "Title")}
    listed = [r[col["Reference"]] for r in rows[1:]]
    assert sorted(listed) == sorted(references)
    assert [r[col["Rank"]] for r in rows[1:]] == list(range(1, len(references) + 1))  # all in EAST
    assert all(r[col["Why it ranks here"]] for r in rows[1:])
    title = next(r[col["Title"]] for r in rows[1:] if r[col["Reference"]] == hostile)
    assert title == "'" + HOSTILE + " \u27e8U+202E\u27e9x", "a formula is stored as text, not run"
    assert not any(isinstance(v, str) and RLO in v for r in rows for v in r)
    about = dict(
        load_workbook(io.BytesIO(got.content), read_only=True)["Strategy"].iter_rows(values_only=True)
    )
    assert about["Version"].startswith("cs-") and about["MoRiLE band"] == 30  # the shipped weight

    pdf = v.get("/tasking/pack.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    flat = re.sub(r"\s+", "", text)
    missing = [r for r in references if r.replace(" ", "") not in flat]
    assert not missing, missing
    assert "Tacticaltaskingmeetingpack" in flat and "OFFICIAL-SENSITIVE" in text
    assert RLO not in text and "U+202E" in text


def test_the_case_list_exports_with_its_filters(engine: Engine) -> None:
    add_cast(engine)
    assessed = make_case(engine, "assessed", title="+SUM(A1:A9)")
    submitted = make_case(engine, "submitted")
    _smuggle(engine, submitted.id, title=f"@cmd {RLO}txt.exe")
    v = visitor(engine, "sup.centre")
    page = v.get("/cases?state=assessed").text
    assert 'href="/cases/export.csv?state=assessed' in page

    got = v.get("/cases/export.csv?state=assessed")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["Reference", "Title", "State"]
    assert [r[0] for r in table[1:]] == [assessed.reference]
    assert table[1][1] == "'+SUM(A1:A9)"

    every = list(csv.reader(io.StringIO(v.get("/cases/export.csv").content.decode("utf-8-sig"))))
    titles = {r[0]: r[1] for r in every[1:]}
    assert set(titles) == {assessed.reference, submitted.reference}
    assert titles[submitted.reference] == "'@cmd \u27e8U+202E\u27e9txt.exe"

    xlsx = v.get("/cases/export.xlsx?state=submitted")
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in values[1:]] == [submitted.reference]


def test_a_requester_exports_only_their_units_cases(engine: Engine) -> None:
    add_cast(engine)
    mine = make_case(engine, "submitted")  # the North East BCU's
    make_case(engine, "submitted", requesting_unit="AS")
    v = visitor(engine, "req.ne")
    table = list(csv.reader(io.StringIO(v.get("/cases/export.csv").content.decode("utf-8-sig"))))
    assert [r[0] for r in table[1:]] == [mine.reference]
    assert v.get("/cases/export.csv?state=nonsense").status_code == 422
