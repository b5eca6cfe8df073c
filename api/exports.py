"""Files that take a list out of the screen: CSV and xlsx tables, and the PDF meeting pack.

Every text cell passes through `cell`: spoofing characters (bidi overrides, zero-width) are shown as
markers, never obeyed, and a value a spreadsheet would run as a formula (starting = + - @, or a tab or
carriage return before one) is prefixed with an apostrophe so it is read as text (OWASP's advice for
CSV injection; the same holds for xlsx, whose writers store such a string as a formula).
Times are written on the London wall clock, as the centre's staff read them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from workflow import localtime, spoofing

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
Table = tuple[str, Sequence[str], Iterable[Sequence[Any]]]  # sheet title, headers, rows


def cell(value: Any) -> Any:
    """One value as a file may hold it: numbers stay numbers, text is neutralised, times are local."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return localtime.to_local(value).replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = spoofing.visible(str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_text(cell(v)) for v in row])
    # The byte-order mark makes spreadsheet programs read the file as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table, written in openpyxl's streaming mode (constant memory)."""
    book = Workbook(write_only=True)
    for title, headers, rows in tables:
        sheet = book.create_sheet(title=title[:31])
        bold = Font(bold=True)
        head = []
        for h in headers:
            c = WriteOnlyCell(sheet, value=cell(h))
            c.font = bold
            head.append(c)
        sheet.append(head)
        sheet.freeze_panes = "A2"
        for row in rows:
            sheet.append([_xlsx_value(cell(v)) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(value: Any) -> Any:
    # Text that still begins with "=" after `cell` cannot exist; this keeps openpyxl from ever typing a
    # string as a formula should `cell` change.
    if isinstance(value, str) and value.startswith("="):
        return "'" + value
    return value


def attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
