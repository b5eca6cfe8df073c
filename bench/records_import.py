"""Bulk import (`sctac import`) of a legacy sheet, against a raw `executemany` of the same rows.

    python bench/records_import.py [--rows 50000]

Writes a synthetic pathfinder sheet (CSV, the shipped column mapping's headings: a mix of closed,
live and declined requests over two years), imports it into a fresh SQLite database through
`workflow.importing.import_file` (checking every row, hash-chaining every event, one transaction),
then copies exactly the rows it wrote (cases, events, source keys) into a second fresh database with
the bare sqlite3 driver's `executemany` in one transaction: the floor for writing those rows at all.
Last line: ``import: N rows (E events) in T s (R rows/s); goal 60 s for 50,000; raw executemany S s,
ratio X``.

`bench_import` is the import half of the records benchmark; the notes' search half sits beside it.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlmodel import Session

from workflow import importing
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.principals import system
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook

MAPPING = Path(__file__).resolve().parent.parent / "examples" / "import" / "pathfinder-2018.yaml"
HEADINGS = [
    "SCTaC Ref", "Date Received", "BCU", "Operation / Title", "Summary", "Target Type", "Target",
    "Control Strategy", "Assets Requested", "GPMS", "MoRiLE Priority", "MoRiLE Score", "Date Assessed",
    "SC Hub", "Case Owner", "Date Tasked", "Status", "Date Closed", "Result",
]  # fmt: skip
UNITS = ["CE BCU", "CN BCU", "NE BCU", "SE BCU", "EA BCU", "NW BCU", "SW BCU", "WA BCU"]
THEMES = ["Drugs; County lines", "Knife crime", "Gangs; Violence", "Child exploitation", "Fraud"]
ASSETS = ["Surveillance", "Financial investigation", "Covert policing; Surveillance", ""]
HUBS = ["NORTH", "SOUTH", "EAST", "WEST"]
TABLES = ("case", "case_event", "imported_row")


def write_sheet(path: Path, rows: int, *, seed: int = 7) -> Path:
    rnd = random.Random(seed)
    start = date(2018, 4, 1)
    with path.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(HEADINGS)
        for n in range(1, rows + 1):
            received = start + timedelta(days=rnd.randrange(700))
            assessed = received + timedelta(days=rnd.randrange(1, 10))
            tasked = assessed + timedelta(days=rnd.randrange(1, 20))
            closed = tasked + timedelta(days=rnd.randrange(10, 200))
            status = rnd.choices(["Closed", "Live", "Declined", "Assessed"], weights=[6, 2, 1, 1])[0]
            band = rnd.choice(["P1", "P2", "P3", "P4"]) if status != "Declined" else ""
            score = str(rnd.randrange(10, 90)) if band else ""
            w.writerow(
                [
                    f"PF-{n:06d}", received.strftime("%d/%m/%Y"), rnd.choice(UNITS), f"Op {n}",
                    "Request summary " * 4, "OCG", f"Target group {n % 997}", rnd.choice(THEMES),
                    rnd.choice(ASSETS), rnd.choice(["O", "OS"]), band, score,
                    assessed.strftime("%d/%m/%Y") if band else "", rnd.choice(HUBS) if band else "", "",
                    tasked.strftime("%d/%m/%Y") if status in ("Closed", "Live") else "", status,
                    closed.strftime("%d/%m/%Y") if status in ("Closed", "Declined") else "",
                    rnd.choice(["Disrupted", "Charged", "NFA"]) if status == "Closed" else "",
                ]
            )  # fmt: skip
    return path


def _fresh(path: Path) -> Any:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine) as s:
        sync_reference(s, rules=get_rulebook())
    return engine


def bench_import(rows: int, workdir: Path) -> dict[str, float]:
    """Import `rows` synthetic rows and copy what it wrote raw; the two times and their ratio."""
    sheet = write_sheet(workdir / "tracking.csv", rows)
    engine = _fresh(workdir / "import.db")
    mapping = importing.load_mapping(MAPPING)
    with Session(engine) as session:
        started = time.perf_counter()
        result = importing.import_file(session, path=sheet, by=system("bench:import"), mapping=mapping)
        took = time.perf_counter() - started
    copied: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            got = conn.execute(text(f'SELECT * FROM "{table}"'))
            copied[table] = (list(got.keys()), [tuple(r) for r in got])
    engine.dispose()
    raw_engine = _fresh(workdir / "raw.db")
    raw_engine.dispose()
    db = sqlite3.connect(workdir / "raw.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    with db:
        for table in TABLES:
            names, values = copied[table]
            marks = ", ".join("?" for _ in names)
            cols = ", ".join(f'"{n}"' for n in names)
            db.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', values)
    raw = time.perf_counter() - started
    db.close()
    return {
        "rows": result.imported,
        "events": result.events,
        "seconds": took,
        "raw": raw,
        "ratio": took / raw,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = bench_import(args.rows, Path(tmp))
    print(
        f"import: {r['rows']:.0f} rows ({r['events']:.0f} events) in {r['seconds']:.1f} s"
        f" ({r['rows'] / r['seconds']:.0f} rows/s); goal 60 s for 50,000; raw executemany {r['raw']:.2f} s,"
        f" ratio {r['ratio']:.1f}"
    )


if __name__ == "__main__":
    main()
