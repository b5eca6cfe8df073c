"""Records benchmarks. The search half: subject search over a large log (issue 14: 1M events and 200k
notes, p99 < 200 ms), against a full scan of the notes for the exact spelling.

    python bench/records.py                                  # a short run (100k events, 20k notes)
    python bench/records.py --events 1000000 --notes 200000  # the documented size (a few minutes)

Seeds a fresh SQLite database: one case submitted through the service, then its row and events cloned
in bulk into `--events / 10` cases of ten events each, `--notes` of them notes naming one or two people
drawn from fixed lists (seeded, so runs are comparable); then builds the subject index
(`workflow.subjects.reindex`) and times `workflow.disclosure.search` (the DPO's whole search: index
lookup, fuzzy scoring, the case and event rows of every hit, the withholding checks and the logged
commit) for `--queries` misspelt names. The baseline is what a search without the index costs: a LIKE
scan of every note's payload for the correctly spelt name (no fuzziness at all), median of 3.
Last line: ``subject search p99 P ms (goal 200 ms); scan S ms; scan / p99 R``.

The import half (bulk import of the pathfinder's spreadsheets) is a function of its own beside this one.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from sqlmodel import Session

from tests.factories import request_data
from workflow import disclosure, service, subjects
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.principals import system
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook
from workflow.settings import get_settings
from workflow.tables import CASE, EVENT

FIRST = [
    "Jonathan",
    "Mohammed",
    "Kelly",
    "Marek",
    "Aisha",
    "Daniel",
    "Chloe",
    "Tomasz",
    "Grace",
    "Kwame",
    "Sophie",
    "Liam",
    "Priya",
    "Oluwaseun",
    "Connor",
    "Fatima",
    "Jamal",
    "Megan",
    "Ryan",
    "Zainab",
    "Callum",
    "Amira",
    "Ewan",
    "Leah",
    "Dariusz",
    "Ruth",
    "Tyrone",
    "Hannah",
    "Nikhil",
    "Rosa",
]
LAST = [
    "Smyth",
    "Okafor",
    "Nowak",
    "Hussain",
    "Campbell",
    "Ahmed",
    "O'Brien",
    "Kowalski",
    "Patel",
    "Mensah",
    "Robinson",
    "Fitzgerald",
    "Adeyemi",
    "Kaur",
    "Murphy",
    "Begum",
    "Wojcik",
    "Thompson",
    "Osei",
    "Gallagher",
    "Chaudhry",
    "Doherty",
    "Mahmood",
    "Kennedy",
    "Achterberg",
    "Lindqvist",
    "Abara",
    "Castellano",
    "Nakamura",
    "Petrovic",
    "Ferreira",
    "Haddad",
    "Ivanova",
    "Delacroix",
    "McAllister",
    "Sorensen",
]
PLACES = [
    "Deptford",
    "Peckham",
    "Tottenham",
    "Ilford",
    "Croydon",
    "Southall",
    "Brixton",
    "Walthamstow",
    "Hackney",
    "Lewisham",
]
VERBS = ["Seen with", "Stopped in a car with", "Phoned by", "Met", "Called about", "Reported as driving for"]


# The large pool (default): 1,680 made-up surnames besides the 36 above, so a full name is in a handful
# of items, as a real subject is; `--names small` keeps the 36, putting each name in hundreds of items.
_ONSETS = [
    "Ab",
    "Ad",
    "Al",
    "Ban",
    "Bel",
    "Car",
    "Dal",
    "Fen",
    "Gar",
    "Hal",
    "Kov",
    "Lind",
    "Mar",
    "Nak",
    "Os",
    "Pet",
    "Rad",
    "Sor",
    "Tal",
    "Wex",
]
_VOWELS = ["a", "e", "i", "o", "u", "ay", "ow"]
_CODAS = ["ski", "son", "ley", "ford", "ami", "ovic", "ez", "ian", "er", "stone", "wood", "ton"]
LARGE_LAST = LAST + [o + v + c for o in _ONSETS for v in _VOWELS for c in _CODAS]
_pool = {"last": LAST}
USED: list[str] = []  # names the seeded notes hold (the queries ask for these, misspelt)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(_pool['last'])}"


def _misspell(name: str, rng: random.Random) -> str:
    first, last = name.split(" ", 1)
    i = rng.randrange(1, len(last) - 1)
    letter = rng.choice("aeiouy".replace(last[i].lower(), ""))
    return f"{first} {last[:i]}{letter}{last[i + 1 :]}"


def seed(engine: Any, *, events: int, notes: int, rng: random.Random) -> tuple[int, int]:
    """Clone one real case into events/10 cases of ten events, `notes` of them notes; returns counts."""
    with Session(engine, expire_on_commit=False) as s:
        sync_reference(s, rules=get_rulebook())
        first = service.submit_case(
            s, request=request_data(protective_marking="OFFICIAL"), by=system("bench")
        )
        case_row = dict(
            s.connection().execute(select(CASE).where(CASE.c.id == first.case_id)).mappings().one()
        )
        event_row = dict(
            s.connection().execute(select(EVENT).where(EVENT.c.case_id == first.case_id)).mappings().one()
        )
        s.commit()  # the template stays as case 1; the clones follow it
    per_case = 10
    n_cases = max(events // per_case, 1)
    note_every = n_cases * (per_case - 1) / max(notes, 1)
    del case_row["id"], event_row["id"]
    conn = engine.raw_connection()  # the bulk copy on the bare driver: seeding is not what is measured
    case_cols = list(case_row)
    event_cols = list(event_row)
    import json

    def dumped(row: dict[str, Any], cols: list[str]) -> tuple[Any, ...]:
        return tuple(json.dumps(row[c]) if isinstance(row[c], dict | list) else row[c] for c in cols)

    cur = conn.cursor()
    case_sql = (
        f'INSERT INTO "case" (id, {", ".join(case_cols)}) VALUES (?, {", ".join("?" * len(case_cols))})'
    )
    event_sql = (
        f"INSERT INTO case_event ({', '.join(event_cols)}) VALUES ({', '.join('?' * len(event_cols))})"
    )
    made_notes, slot, batch_c, batch_e = 0, 0.0, [], []
    for cid in range(2, n_cases + 2):
        target = _person(rng)
        row = {
            **case_row,
            "reference": f"SCT-2026-{cid:06d}",
            "target_name": target,
            "title": f"Supply network around {target}",
            "summary": f"{target} runs a line from {rng.choice(PLACES)}.",
            "event_seq": per_case,
        }
        batch_c.append((cid, *dumped(row, case_cols)))
        for seq in range(1, per_case + 1):
            ev = {**event_row, "case_id": cid, "seq": seq}
            if seq > 1:
                slot += 1
                if made_notes < notes and slot >= note_every:
                    slot -= note_every
                    made_notes += 1
                    named = [_person(rng) for _ in range(rng.choice((1, 1, 2)))]
                    if len(USED) < 10_000:
                        USED.extend(named)
                    who = " and ".join(named)
                    ev.update(
                        trigger="note",
                        from_state="submitted",
                        to_state="submitted",
                        payload={
                            "note": f"{rng.choice(VERBS)} {who} in {rng.choice(PLACES)}.",
                            "note_marking": "OFFICIAL",
                        },
                    )
                else:
                    ev.update(
                        trigger="defer",
                        from_state="submitted",
                        to_state="submitted",
                        payload={"reason": "capacity"},
                    )
            batch_e.append(dumped(ev, event_cols))
        if len(batch_e) >= 50_000:
            cur.executemany(case_sql, batch_c)
            cur.executemany(event_sql, batch_e)
            batch_c, batch_e = [], []
    cur.executemany(case_sql, batch_c)
    cur.executemany(event_sql, batch_e)
    conn.commit()
    conn.close()
    return n_cases, made_notes


def search_bench(
    *,
    events: int = 100_000,
    notes: int = 20_000,
    queries: int = 200,
    seed_value: int = 14,
    names: str = "large",
) -> dict[str, float]:
    """Subject search p50/p99 over a seeded log, and the notes scan it replaces; returns the figures."""
    rng = random.Random(seed_value)
    # A chain key of the run's own: without one the settings would create a key file beside ./sctac.db.
    os.environ.setdefault("SCTAC_CHAIN_KEY", secrets.token_hex(32))
    get_settings.cache_clear()
    _pool["last"] = LARGE_LAST if names == "large" else LAST
    USED.clear()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/records.db")
        upgrade(engine)
        t0 = time.perf_counter()
        n_cases, n_notes = seed(engine, events=events, notes=notes, rng=rng)
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.begin() as conn:
            tokens = subjects.reindex(conn)
        indexed = time.perf_counter() - t0
        with Session(engine) as s:
            n_events = s.execute(select(func.count()).select_from(EVENT)).scalar_one()
        print(
            f"seeded {n_cases:,} cases, {n_events:,} events, {n_notes:,} notes in {seeded:.1f} s; "
            f"index {tokens:,} token rows in {indexed:.1f} s"
        )
        dpo = system("bench.dpo")
        people = [rng.choice(USED) for _ in range(queries)]
        timings, found, total = [], 0, 0
        with Session(engine) as s:
            disclosure.search(s, by=dpo, name=people[0])  # warm the statement cache
            for name in people:
                wrong = _misspell(name, rng)
                t = time.perf_counter()
                items = disclosure.search(s, by=dpo, name=wrong)
                timings.append((time.perf_counter() - t) * 1000)
                found += bool(items)
                total += len(items)
            scans = []
            for name in people[:3]:
                t = time.perf_counter()
                s.execute(
                    select(EVENT.c.case_id).where(
                        EVENT.c.trigger == "note",
                        func.lower(EVENT.c.payload.cast(text_type())).like(f"%{name.lower()}%"),
                    )
                ).all()
                scans.append((time.perf_counter() - t) * 1000)
        engine.dispose()
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    scan = statistics.median(scans)
    print(
        f"{queries} misspelt names ({names} name pool): {found} found, {total / queries:.0f} items each; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {timings[-1]:.1f} ms"
    )
    print(f"subject search p99 {p99:.1f} ms (goal 200 ms); scan {scan:.1f} ms; scan / p99 {scan / p99:.1f}")
    if events < 1_000_000:
        print("documented size: python bench/records.py --events 1000000 --notes 200000")
    return {"p50_ms": p50, "p99_ms": p99, "scan_ms": scan, "found": found, "queries": queries}


def text_type() -> Any:
    from sqlalchemy import Text

    return Text()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--notes", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--names", choices=("large", "small"), default="large", help="surname pool")
    args = parser.parse_args()
    search_bench(events=args.events, notes=args.notes, queries=args.queries, names=args.names)


if __name__ == "__main__":
    main()
