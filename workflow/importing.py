"""Bulk import of the pathfinder's legacy spreadsheets (.csv or .xlsx) as cases with `imported` histories.

Each row becomes one case whose history is a short chain of `imported` events at the row's own dates:
received (-> submitted), assessed with its MoRiLE band and score, tasked to its hub and owner, and
ended (closed with its outcome, rejected or withdrawn), as far as its state reached. Every event says
where it came from (`source`: file, sheet, row, key) and is hash-chained like any other
(workflow/chain.py); the evaluation report counts them (workflow/reports/fold.py). An ended case gets
its retention review date from its ending date (workflow/retention.py).

The sheet's own headings are named by a column-mapping file (YAML, e.g.
`examples/import/pathfinder-2018.yaml`).
Every problem is reported as `file:sheet:row:column: message` and nothing is written unless every row is
clean, or with `skip_bad_rows`, which imports the clean rows and reports the others. Each row has a
stable source key (the mapping's `key` column, else a digest of its mapped values) kept in
`imported_row`: importing the same file again adds nothing.

Written in batches with SQLAlchemy Core (executemany), all in one transaction: 50,000 rows take seconds,
not the minutes one service call per row would (bench/records_import.py).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from rules.vocab import BANDS
from rules.yamlsrc import Reader, describe
from workflow import retention
from workflow import rulebook as rb
from workflow.chain import GENESIS, event_hash, payload_digest
from workflow.errors import Forbidden, ImportRejected
from workflow.facts import facts_of
from workflow.principals import MARKINGS, Principal
from workflow.states import IMPORTED, OUTCOMES, TERMINAL, State
from workflow.tables import CASE, EVENT, HUB, UNIT, USER
from workflow.tables import IMPORTED as IMPORTED_ROWS

BATCH = 1000  # rows per round of statements

# The case fields a mapping may name a column for, and whether a row must have them.
FIELDS: dict[str, bool] = {
    "reference": False,
    "submitted_at": True,
    "unit": True,
    "title": True,
    "summary": False,
    "target_type": False,
    "target_name": False,
    "themes": False,
    "capabilities": False,
    "marking": False,
    "band": False,
    "risk": False,
    "harm_total": False,
    "likelihood_total": False,
    "assessed_at": False,
    "hub": False,
    "owner": False,
    "tasked_at": False,
    "state": True,
    "closed_at": False,
    "outcome": False,
}
_MAPPING_KEYS = ("source", "sheet", "header_row", "key", "columns", "values", "defaults")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
# How far along the lifecycle each state is, for the stages an imported history passes through.
_REACHED = {
    State.SUBMITTED: 0,
    State.ASSESSED: 1,
    State.PRIORITISED: 2,
    State.TASKED: 3,
    State.REVIEWED: 4,
    State.CLOSED: 5,
}
_ENDED = frozenset(s.value for s in TERMINAL)
_SINGULAR = {"themes": "theme", "capabilities": "capability"}


@dataclass(frozen=True)
class ColumnMapping:
    source: str
    columns: dict[str, str]  # case field -> the sheet's heading
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {sheet word: sctac word}
    defaults: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    header_row: int = 1
    key: str | None = None  # the heading of the column holding the legacy reference (the source key)


def default_mapping(source: str = "import") -> ColumnMapping:
    """Headings equal to the field names (a CSV written for sctac)."""
    return ColumnMapping(source=source, columns={f: f for f in FIELDS}, key="reference")


def load_mapping(path: Path) -> ColumnMapping:
    """Read and check a column-mapping file; ImportRejected with `file:line:col: field: message` lines."""
    errors: list[Any] = []
    r = Reader(str(path), errors)
    doc = r.load(path)
    top = r.mapping(doc, (1, 1), "") if not errors else None
    if top is not None and r.fields(top, "", required=("source", "columns"), optional=_MAPPING_KEYS):
        columns = r.mapping(top["columns"], r.value_pos(top, "columns", (1, 1)), "columns")
        if columns is not None:
            for name in columns:
                if str(name) not in FIELDS:
                    r.error(
                        r.key_pos(columns, name, (1, 1)),
                        f"columns.{name}",
                        f"not a field sctac imports (known: {', '.join(FIELDS)})",
                    )
                elif not isinstance(columns[name], str) or not columns[name]:
                    pos = r.value_pos(columns, name, (1, 1))
                    r.error(
                        pos, f"columns.{name}", f"expected the sheet's heading, got {describe(columns[name])}"
                    )
            for name, required in FIELDS.items():
                if required and name not in columns and name not in (top.get("defaults") or {}):
                    r.error(r.node_pos(columns, (1, 1)), f"columns.{name}", "required field has no column")
        for section in ("values", "defaults"):
            if section in top:
                r.mapping(top[section], r.value_pos(top, section, (1, 1)), section)
    if errors:
        raise ImportRejected([str(e) for e in errors])
    assert top is not None
    values = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in (top.get("values") or {}).items()}
    return ColumnMapping(
        source=str(top["source"]),
        columns={str(k): str(v) for k, v in top["columns"].items()},
        values=values,
        defaults={str(k): str(v) for k, v in (top.get("defaults") or {}).items()},
        sheet=str(top["sheet"]) if top.get("sheet") is not None else None,
        header_row=int(top.get("header_row") or 1),
        key=str(top["key"]) if top.get("key") is not None else None,
    )


# -- reading the file -------------------------------------------------------------------------------------


def read_rows(path: Path, mapping: ColumnMapping) -> tuple[str, list[str], Iterator[tuple[int, list[Any]]]]:
    """(sheet name, headings, (row number, cells) for each data row), streaming."""
    if path.suffix.lower() == ".xlsx":
        return _xlsx_rows(path, mapping)
    if path.suffix.lower() == ".csv":
        return _csv_rows(path, mapping)
    raise ImportRejected([f"{path.name}: not a .csv or .xlsx file"])


def _csv_rows(path: Path, mapping: ColumnMapping) -> tuple[str, list[str], Iterator[tuple[int, list[Any]]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportRejected([f"{path.name}: cannot read: {exc.strerror}"]) from None
    rows = csv.reader(handle)
    headings: list[str] = []
    for n, cells in enumerate(rows, start=1):
        if n == mapping.header_row:
            headings = [c.strip() for c in cells]
            break

    def data() -> Iterator[tuple[int, list[Any]]]:
        with handle:
            try:
                for n, cells in enumerate(rows, start=mapping.header_row + 1):
                    if any(c.strip() for c in cells):
                        yield n, list(cells)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise ImportRejected([f"{path.name}:csv:{rows.line_num}: unreadable: {exc}"]) from None

    return "csv", headings, data()


def _xlsx_rows(path: Path, mapping: ColumnMapping) -> tuple[str, list[str], Iterator[tuple[int, list[Any]]]]:
    import openpyxl  # only needed for workbooks
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError) as exc:
        raise ImportRejected(
            [f"{path.name}: not a readable .xlsx workbook ({exc.__class__.__name__})"]
        ) from None
    if mapping.sheet is not None and mapping.sheet not in book.sheetnames:
        book.close()
        raise ImportRejected(
            [f"{path.name}: no sheet {mapping.sheet!r} (it has {', '.join(book.sheetnames)})"]
        )
    sheet = book[mapping.sheet] if mapping.sheet is not None else book.worksheets[0]
    rows = sheet.iter_rows(min_row=mapping.header_row, values_only=True)
    first = next(rows, ())
    headings = [str(c).strip() if c is not None else "" for c in first]

    def data() -> Iterator[tuple[int, list[Any]]]:
        try:
            for n, cells in enumerate(rows, start=mapping.header_row + 1):
                if any(c not in (None, "") for c in cells):
                    yield n, list(cells)
        finally:
            book.close()

    return sheet.title, headings, data()


# -- checking rows ----------------------------------------------------------------------------------------


@dataclass
class Row:
    number: int
    key: str
    values: dict[str, Any]


@dataclass
class Problem:
    file: str
    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.sheet}:{self.row}:{self.column}: {self.message}"


@dataclass(frozen=True)
class Known:
    """The reference data a row is checked against (read once per import)."""

    units: frozenset[str]
    hubs: frozenset[str]
    users: frozenset[str]
    themes: frozenset[str]
    capabilities: frozenset[str]
    target_types: frozenset[str]
    # A vocabulary's labels, as a sheet writes them ("County lines"), lower-cased -> its code.
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def code(self, vocabulary: str, word: str) -> str:
        return self.labels.get(vocabulary, {}).get(word.lower(), word)

    @classmethod
    def read(cls, session: Session, rules: rb.Rulebook) -> Known:
        rs = rules.ruleset
        return cls(
            units=frozenset(session.execute(select(UNIT.c.code).where(UNIT.c.active.is_(True))).scalars()),
            hubs=frozenset(session.execute(select(HUB.c.code).where(HUB.c.active.is_(True))).scalars()),
            users=frozenset(session.execute(select(USER.c.username)).scalars()),
            themes=frozenset(rs.themes),
            capabilities=frozenset(rs.capabilities),
            target_types=frozenset(rs.target_types),
            labels={
                name: {
                    **{t.label.lower(): code for code, t in terms.items()},
                    **{code.lower(): code for code in terms},
                }
                for name, terms in (
                    ("themes", rs.themes),
                    ("capabilities", rs.capabilities),
                    ("target_types", rs.target_types),
                )
            },
        )


def _suggest(value: str, known: Iterable[str]) -> str:
    options = sorted(known)
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.5)
    if not close:
        close = [o for o in options if o and o.lower() in value.lower().split()][:1]
    return f" (did you mean {close[0]}?)" if close else ""


def _date(value: Any) -> datetime | None:
    """A cell as a UTC moment (a date alone is taken at noon UTC, so it stays on its day in London)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(12, 0), tzinfo=UTC)
    return _date_text(str(value).strip())


@lru_cache(maxsize=4096)
def _date_text(text: str) -> datetime | None:
    # Cached: a sheet's dates repeat (a few hundred days over tens of thousands of cells).
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        has_time = "%H" in fmt
        return (
            parsed.replace(tzinfo=UTC)
            if has_time
            else datetime.combine(parsed.date(), time(12, 0), tzinfo=UTC)
        )
    return None


def _words(value: Any) -> list[str]:
    text = str(value or "")
    parts = text.replace(";", ",").replace("|", ",").split(",")
    return sorted({p.strip() for p in parts if p.strip()})


class RowChecker:
    def __init__(
        self, *, file: str, sheet: str, headings: Sequence[str], mapping: ColumnMapping, known: Known
    ):
        self.file, self.sheet, self.mapping, self.known = file, sheet, mapping, known
        self.index: dict[str, int] = {}
        self.problems: list[Problem] = []
        lowered = {h.lower(): i for i, h in enumerate(headings)}
        for name, heading in mapping.columns.items():
            at = lowered.get(heading.lower())
            if at is None:
                self.problems.append(
                    Problem(
                        file,
                        sheet,
                        mapping.header_row,
                        heading,
                        f"no such column (for {name}){_suggest(heading, headings)}",
                    )
                )
            else:
                self.index[name] = at
        self.key_at = lowered.get(mapping.key.lower()) if mapping.key else None
        self.seen: dict[str, int] = {}

    def heading(self, name: str) -> str:
        return self.mapping.columns.get(name, name)

    def cell(self, cells: Sequence[Any], name: str) -> Any:
        at = self.index.get(name)
        raw = cells[at] if at is not None and at < len(cells) else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raw = self.mapping.defaults.get(name)
        if isinstance(raw, str):
            raw = raw.strip()
            raw = self.mapping.values.get(name, {}).get(raw, raw)
        return raw

    def check(self, number: int, cells: Sequence[Any]) -> tuple[Row | None, list[Problem]]:
        found: list[Problem] = []

        def bad(name: str, message: str) -> None:
            found.append(Problem(self.file, self.sheet, number, self.heading(name), message))

        v: dict[str, Any] = {}
        for name, required in FIELDS.items():
            value = self.cell(cells, name)
            if required and value in (None, ""):
                bad(name, f"{name.replace('_', ' ')} is required")
            v[name] = value
        k = self.known
        unit = v["unit"]
        if unit not in (None, "") and str(unit) not in k.units:
            bad("unit", f"no unit {json.dumps(str(unit))}{_suggest(str(unit), k.units)}")
        for name in ("submitted_at", "assessed_at", "tasked_at", "closed_at"):
            if v[name] not in (None, ""):
                moment = _date(v[name])
                if moment is None:
                    bad(name, f"not a date: {json.dumps(str(v[name]))} (use YYYY-MM-DD or DD/MM/YYYY)")
                v[name] = moment
            else:
                v[name] = None
        state = str(v["state"] or "").lower()
        if state and state not in {s.value for s in State}:
            known = ", ".join(s.value for s in State)
            bad(
                "state",
                f"unknown state {json.dumps(str(v['state']))} (one of {known}, or map it under values.state)",
            )
        v["state"] = state
        band = v["band"]
        if band not in (None, ""):
            band = str(band).upper()
            if band not in BANDS:
                bad("band", f"unknown band {json.dumps(str(v['band']))} (one of {', '.join(BANDS)})")
        v["band"] = band or None
        for name in ("risk", "harm_total", "likelihood_total"):
            if v[name] not in (None, ""):
                try:
                    v[name] = float(v[name])
                except (TypeError, ValueError):
                    bad(name, f"not a number: {json.dumps(str(v[name]))}")
            else:
                v[name] = None
        if v["hub"] not in (None, "") and str(v["hub"]) not in k.hubs:
            bad("hub", f"no hub {json.dumps(str(v['hub']))}{_suggest(str(v['hub']), k.hubs)}")
        if v["owner"] not in (None, "") and str(v["owner"]) not in k.users:
            bad("owner", f"no account {json.dumps(str(v['owner']))}{_suggest(str(v['owner']), k.users)}")
        marking = str(v["marking"] or "OFFICIAL").upper()
        if marking not in MARKINGS:
            bad("marking", f"unknown marking {json.dumps(str(v['marking']))} (one of {', '.join(MARKINGS)})")
        v["marking"] = marking
        target_type = k.code("target_types", str(v["target_type"] or "ocg"))
        if target_type not in k.target_types:
            bad(
                "target_type",
                f"unknown target type {json.dumps(target_type)}{_suggest(target_type, k.target_types)}",
            )
        v["target_type"] = target_type
        for name, vocabulary in (("themes", k.themes), ("capabilities", k.capabilities)):
            own = self.mapping.values.get(name, {})
            words = sorted({k.code(name, own.get(w, w)) for w in _words(v[name])})
            for w in words:
                if w not in vocabulary:
                    bad(
                        name,
                        f"unknown {_SINGULAR[name]} {json.dumps(w)}{_suggest(w, vocabulary)}",
                    )
            v[name] = words
        if state == State.CLOSED and v["outcome"] not in OUTCOMES:
            given = json.dumps(str(v["outcome"])) if v["outcome"] else "none"
            bad("outcome", f"a closed case needs an outcome ({', '.join(OUTCOMES)}), got {given}")
        if (
            state in _ENDED
            and v["closed_at"] is None
            and not any(p.column == self.heading("closed_at") for p in found)
        ):
            bad("closed_at", f"a {state} case needs the date it ended")
        self._order(v, bad)
        key = self._key(number, cells, v, bad)
        if found:
            return None, found
        return Row(number, key, v), []

    def _order(self, v: dict[str, Any], bad: Callable[[str, str], None]) -> None:
        last, last_name = v["submitted_at"], "submitted_at"
        for name in ("assessed_at", "tasked_at", "closed_at"):
            moment = v[name]
            if moment is None or last is None:
                continue
            if moment < last:
                bad(name, f"{moment:%Y-%m-%d} is before {last_name.replace('_at', '')} ({last:%Y-%m-%d})")
            last, last_name = moment, name

    def _key(
        self, number: int, cells: Sequence[Any], v: Mapping[str, Any], bad: Callable[[str, str], None]
    ) -> str:
        own = cells[self.key_at] if self.key_at is not None and self.key_at < len(cells) else None
        if own not in (None, ""):
            key = f"{self.mapping.source}:{str(own).strip()}"
        else:
            text = json.dumps({k: str(x) for k, x in v.items()}, sort_keys=True, ensure_ascii=False)
            key = f"{self.mapping.source}:sha256:{hashlib.sha256(text.encode()).hexdigest()[:32]}"
        first = self.seen.setdefault(key, number)
        if first != number:
            bad(
                "reference" if own not in (None, "") else "state",
                f"the same row as row {first} (source key {key})",
            )
        return key


# -- writing ----------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    file: str
    sheet: str
    rows: int = 0
    imported: int = 0
    already: int = 0  # rows whose source key was imported before
    events: int = 0
    skipped: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    case_ids: list[int] = field(default_factory=list)


def _history(row: Row) -> list[tuple[str | None, str, datetime, dict[str, Any]]]:
    """(from, to, at, stage payload) for each imported event of a row, in order."""
    v = row.values
    state = State(v["state"])
    submitted = v["submitted_at"]
    steps: list[tuple[str | None, str, datetime, dict[str, Any]]] = []
    request = {
        "title": str(v["title"]),
        "summary": str(v["summary"] or ""),
        "requesting_unit": str(v["unit"]),
        "target_type": v["target_type"],
        "target_name": str(v["target_name"] or ""),
        "themes": v["themes"],
        "capabilities": v["capabilities"],
        "protective_marking": v["marking"],
        "legacy_reference": str(v["reference"]) if v["reference"] not in (None, "") else None,
    }
    steps.append((None, State.SUBMITTED, submitted, {"request": request, "hub": v["hub"]}))
    ended = state.value in _ENDED
    reached = _REACHED.get(state, 1 if v["band"] else 0)
    at = submitted
    if reached >= 1 and (v["band"] or not ended):
        at = v["assessed_at"] or at
        score = {k: v[k] for k in ("band", "risk", "harm_total", "likelihood_total")}
        steps.append((State.SUBMITTED, State.ASSESSED, at, {"score": score}))
    if reached >= 2 and state == State.PRIORITISED:
        steps.append((steps[-1][1], State.PRIORITISED, at, {}))
    if reached >= 3:
        at = v["tasked_at"] or at
        steps.append((steps[-1][1], State.TASKED, at, {"hub": v["hub"], "owner": v["owner"]}))
    if state == State.REVIEWED:
        steps.append((State.TASKED, State.REVIEWED, at, {}))
    if ended:
        at = v["closed_at"] or at
        steps.append(
            (steps[-1][1], state.value, at, {"outcome": v["outcome"]} if state == State.CLOSED else {})
        )
    return [(str(f) if f is not None else None, str(t), a, p) for f, t, a, p in steps]


def _case_values(
    row: Row, by: str, history: Sequence[tuple[str | None, str, datetime, dict[str, Any]]]
) -> dict[str, Any]:
    v = row.values
    last_at = history[-1][2]
    state = history[-1][1]
    values: dict[str, Any] = {
        "title": str(v["title"])[:200],
        "summary": str(v["summary"] or ""),
        "requesting_unit": str(v["unit"]),
        "target_type": v["target_type"],
        "target_name": str(v["target_name"] or "")[:200],
        "themes": v["themes"],
        "capabilities": v["capabilities"],
        "tags": ["imported"],
        "protective_marking": v["marking"],
        "state": state,
        "version": len(history),
        "hub": v["hub"] or None,
        "team": None,
        "owner": v["owner"] or None,
        "band": v["band"],
        "risk": v["risk"],
        "escalation_level": 0,
        "outcome": v["outcome"] if state == State.CLOSED else None,
        "ruleset_version": None,
        "policy": {},
        "sla_working": False,
        "sla_paused_seconds": 0.0,
        "sla_breached": False,
        "review_overdue": False,
        "created_by": by,
        "created_at": v["submitted_at"],
        "updated_at": last_at,
        "event_seq": len(history),
        "last_event_hash": GENESIS,
        "retention_group": None,
        "retention_review_at": None,
    }
    if state in _ENDED:
        values.update(retention.on_ending(values, ended_at=last_at))
    return values


_INSERT_CASES = insert(CASE).returning(CASE.c.id, sort_by_parameter_order=True)
_SET_HEADS = (
    update(CASE)
    .where(CASE.c.id == bindparam("p_id"))
    .values(reference=bindparam("p_ref"), last_event_hash=bindparam("p_hash"))
)


def _write_batch(
    session: Session, rows: Sequence[Row], *, file: str, sheet: str, by: str, at: datetime
) -> tuple[list[int], int]:
    conn = session.connection()
    histories = [_history(r) for r in rows]
    ids = [
        int(i)
        for i in conn.execute(
            _INSERT_CASES, [_case_values(r, by, h) for r, h in zip(rows, histories, strict=True)]
        ).scalars()
    ]
    events: list[dict[str, Any]] = []
    heads: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    for case_id, row, history in zip(ids, rows, histories, strict=True):
        prev = GENESIS
        source = {"file": file, "sheet": sheet, "row": row.number, "key": row.key}
        for seq, (frm, to, when, stage) in enumerate(history, start=1):
            payload = {"source": source, **stage}
            digest = payload_digest(payload, reason=None)
            fields: dict[str, Any] = dict(
                case_id=case_id,
                seq=seq,
                trigger=IMPORTED,
                from_state=frm,
                to_state=to,
                actor=by,
                reason=None,
                payload=payload,
                created_at=when,
                prev_hash=prev,
            )
            prev = event_hash(**fields, digest=digest)
            events.append({**fields, "payload_digest": digest, "hash": prev, **facts_of(IMPORTED, payload)})
        heads.append({"p_id": case_id, "p_ref": f"SCT-{history[0][2].year}-{case_id:06d}", "p_hash": prev})
        sources.append(
            {
                "source_key": row.key,
                "case_id": case_id,
                "file": file,
                "sheet": sheet,
                "row": row.number,
                "imported_by": by,
                "imported_at": at,
            }
        )
    conn.execute(insert(EVENT), events)
    conn.execute(_SET_HEADS, heads)
    conn.execute(insert(IMPORTED_ROWS), sources)
    return ids, len(events)


def may_import(by: Principal) -> None:
    if not (by.is_admin or by.is_system):
        raise Forbidden("importing legacy cases needs admin", needed=["admin"])


def import_file(
    session: Session,
    *,
    path: Path,
    by: Principal,
    mapping: ColumnMapping | None = None,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Callable[[int], None] | None = None,
    rules: rb.Rulebook | None = None,
    name: str | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Check every row of the file, then (unless `dry_run`) write the new ones in one transaction.

    Raises ImportRejected listing every problem when a row is bad (unless `skip_bad_rows`: then the bad
    rows are left out and listed in `skipped`). `progress` is called with the number of rows handled
    since the last call (checking, then writing). `name` is how the file is named in messages and in
    the events (default: its file name).
    """
    may_import(by)
    mapping = mapping or default_mapping(path.stem)
    rules = rules or rb.active_rulebook(session)
    known = Known.read(session, rules)
    file = name or path.name
    sheet, headings, cells = read_rows(path, mapping)
    checker = RowChecker(file=file, sheet=sheet, headings=headings, mapping=mapping, known=known)
    if checker.problems:
        raise ImportRejected([str(p) for p in checker.problems])
    result = ImportResult(file=file, sheet=sheet, dry_run=dry_run)
    good: list[Row] = []
    problems: list[Problem] = []
    for number, row_cells in cells:
        result.rows += 1
        row, found = checker.check(number, row_cells)
        if row is not None:
            good.append(row)
        problems.extend(found)
        if progress is not None and result.rows % BATCH == 0:
            progress(BATCH)
    if progress is not None and result.rows % BATCH:
        progress(result.rows % BATCH)
    if problems and not skip_bad_rows:
        raise ImportRejected([str(p) for p in problems])
    result.skipped = problems
    fresh = _not_yet_imported(session, good)
    result.already = len(good) - len(fresh)
    if dry_run:
        result.imported = len(fresh)
        return result
    at = now or datetime.now(UTC)
    try:
        for start in range(0, len(fresh), BATCH):
            chunk = fresh[start : start + BATCH]
            ids, n_events = _write_batch(session, chunk, file=file, sheet=sheet, by=by.username, at=at)
            result.case_ids.extend(ids)
            result.events += n_events
            result.imported += len(chunk)
            if progress is not None:
                progress(len(chunk))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def _not_yet_imported(session: Session, rows: Sequence[Row]) -> list[Row]:
    done: set[str] = set()
    keys = [r.key for r in rows]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        done.update(
            session.execute(
                select(IMPORTED_ROWS.c.source_key).where(IMPORTED_ROWS.c.source_key.in_(chunk))
            ).scalars()
        )
    return [r for r in rows if r.key not in done]
