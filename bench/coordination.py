"""Co-ordination across cases (issue 13). The deconfliction half is here; the tasking-list half
(ranking, capacity and groups over 10,000 open cases) is to be added as `tasking_list()` beside it.

    python bench/coordination.py                      # the documented size: 200,000 targets
    python bench/coordination.py --targets 50000      # a quicker run
    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/coordination.py

Deconfliction seeds N open cases straight into the tables, each with one target name (an OCG, a
nominal or a place, a third each) filed in the name index exactly as a submission files it, from a
generated population of distinct names. Then, as the check at submission does (`index.search`: the
key-index shortlist, the open-or-recent filter, rapidfuzz scoring), it searches for:

  * known duplicates: Q names made from indexed ones by what units really write (a typo, an affix such as
    "The ... OCG" or "Mr", an abbreviation, accents or a transliterated spelling, surname first);
  * strangers: Q names not on file, half of them new, half look-alikes of names on file (the same
    street at another number, the same surname with another first name, a group word with a qualifier).

and reports the search's p50/p99 (goal p99 < 20 ms), the same questions put to a brute-force
`rapidfuzz.process.extract` over every indexed name of the kind (same scorer, no index), and recall
(duplicates whose source is found) and precision (found candidates that are the source) (goal recall
>= 0.95 at precision >= 0.9). Ratios print last.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz, process
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.scratch import postgres_database
from tests.conftest import USERS
from tests.factories import request_data
from workflow import service
from workflow.db import make_engine, utcnow
from workflow.deconfliction import index
from workflow.deconfliction.matcher import THRESHOLD, Name
from workflow.deconfliction.names import keys, normalise
from workflow.migrate import upgrade
from workflow.models import User
from workflow.principals import system
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook
from workflow.tables import CASE, TARGET_KEY, TARGET_NAME

NOW = utcnow().replace(microsecond=0)
TARGET_TYPES = {"group": "ocg", "person": "individual", "place": "location"}

# -- a population of distinct names ----------------------------------------------------------------------

_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "ch",
    "cr",
    "dr",
    "gr",
    "kr",
    "pr",
    "sh",
    "st",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou", "ia"]
_CODAS = ["", "", "n", "r", "s", "l", "m", "k", "nd", "st"]
FIRST_NAMES = [
    "John",
    "Mohammed",
    "Aleksandr",
    "Nikola",
    "Declan",
    "Shaun",
    "Ahmed",
    "Jose",
    "Katarzyna",
    "Kofi",
    "Daniel",
    "Michael",
    "Tomasz",
    "Ioana",
    "Precious",
    "Emeka",
    "Liam",
    "Noah",
    "Oliver",
    "Yusuf",
    "Ibrahim",
    "Omar",
    "Ali",
    "Hassan",
    "Mustafa",
    "Andrei",
    "Marius",
    "Bogdan",
    "Piotr",
    "Krzysztof",
    "Grace",
    "Amara",
    "Chloe",
    "Aisha",
    "Fatima",
    "Zainab",
    "Leah",
    "Sophie",
    "Ryan",
    "Tyrone",
    "Jamal",
    "Kwame",
    "Ade",
    "Femi",
    "Tunde",
    "Sean",
    "Patrick",
    "Connor",
    "Dmitri",
    "Sergei",
    "Viktor",
    "Arben",
    "Ilir",
    "Besnik",
    "Luan",
    "Dritan",
    "Eduardo",
    "Carlos",
    "Luis",
    "Miguel",
]
GROUP_WORDS = ["Boys", "Mandem", "Squad", "Youngers", "Bloods", "Soldiers", "Riders", "Brothers"]
STREETS = ["Road", "Street", "Lane", "Avenue", "Close", "Gardens", "Estate", "Court", "Place", "Square"]
ABBREVIATED = {"Road": "Rd", "Street": "St", "Lane": "Ln", "Avenue": "Ave", "Estate": "Est", "Court": "Ct"}


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables))


def _make(rng: random.Random, kind: str) -> str:
    if kind == "group":
        return f"{_word(rng, 3).capitalize()} {rng.choice(GROUP_WORDS)}"
    if kind == "person":
        return f"{rng.choice(FIRST_NAMES)} {_word(rng, 3).capitalize()}"
    return f"{rng.randint(1, 400)} {_word(rng, 3).capitalize()} {rng.choice(STREETS)}"


def population(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """`count` (kind, name) pairs, no two alike: each distinct word is used once, so a duplicate found
    is the name it was made from and nothing else is."""
    made: list[tuple[str, str]] = []
    used: set[str] = set()
    kinds = list(TARGET_TYPES)
    while len(made) < count:
        kind = kinds[len(made) % 3]
        name = _make(rng, kind)
        word = name.split()[1 if kind == "person" else (0 if kind == "group" else 1)].lower()
        sound = normalise(word, "person").phonetic
        if word in used or sound in used:
            continue
        used |= {word, sound}
        made.append((kind, name))
    return made


# -- what units write -----------------------------------------------------------------------------------


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 6:
        return word
    i = rng.randrange(2, len(word) - 1)
    how = rng.choice(("swap", "drop", "double", "vowel"))
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == "drop":
        return word[:i] + word[i + 1 :]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    vowels = "aeiou"
    return word[:i] + (rng.choice(vowels) if word[i] in vowels else word[i]) + word[i + 1 :]


_ACCENTS = str.maketrans({"a": "á", "e": "é", "c": "č", "s": "š", "z": "ž", "o": "ö"})
_SPELLINGS = (("ks", "x"), ("ph", "f"), ("c", "k"), ("y", "i"), ("ou", "u"), ("sh", "sch"))


def neighbour(rng: random.Random, kind: str, name: str) -> str:
    """Another target that looks like `name`: the same street at another number, the same surname with
    another first name, the same group word with a qualifier (none of them may be linked)."""
    words = name.split()
    if kind == "place":
        return " ".join([str(int(words[0]) + rng.randint(1, 9)), *words[1:]])
    if kind == "person":
        return " ".join([rng.choice([f for f in FIRST_NAMES if f != words[0]]), *words[1:]])
    return " ".join([rng.choice(("North", "South", "East", "West", "Little")), *words])


def variant(rng: random.Random, kind: str, name: str) -> str:
    """`name` as another unit might write it: one or two of the usual differences."""
    words = name.split()
    main = 1 if kind in ("person", "place") else 0
    for how in rng.sample(("typo", "affix", "accent", "spelling", "case"), k=rng.choice((1, 2))):
        if how == "typo":
            words[main] = _typo(rng, words[main])
        elif how == "affix":
            if kind == "group":
                words = rng.choice(
                    (["The", *words], [*words, "OCG"], [*words, "gang"], ["the", *words, "crew"])
                )
            elif kind == "person":
                words = rng.choice((["Mr", *words], [words[-1].upper() + ",", *words[:-1]]))
            else:
                words = [ABBREVIATED.get(w, w) for w in words]
            main = next(i for i, w in enumerate(words) if w.lower().strip(",") in name.lower().split())
        elif how == "accent":
            words[main] = words[main].translate(_ACCENTS)
        elif how == "spelling":
            for a, b in _SPELLINGS:
                if a in words[main]:
                    words[main] = words[main].replace(a, b, 1)
                    break
        else:
            words = [w.upper() if rng.random() < 0.5 else w.lower() for w in words]
    return " ".join(words)


# -- seeding --------------------------------------------------------------------------------------------


def seed(engine: Engine, names: list[tuple[str, str]]) -> list[int]:
    """One open case per name, copied from a case submitted through the service, filed in the index."""
    with Session(engine) as s:
        rules = get_rulebook()
        sync_reference(s, rules=rules)
        for user in USERS:
            s.add(User(**user))
        s.commit()
        template = service.submit_case(s, request=request_data(), by=system("ds.ne"), now=NOW).case_id
        row = dict(s.execute(CASE.select().where(CASE.c.id == template)).mappings().one())
    t0 = time.perf_counter()
    ids = list(range(template + 1, template + 1 + len(names)))
    cases = [
        {**row, "id": i, "reference": f"BENCH-{i}", "target_type": TARGET_TYPES[kind], "target_name": name}
        for i, (kind, name) in zip(ids, names, strict=True)
    ]
    # The template's own name is row `template`'s; the copies' target_name ids follow from 10.
    first_name_id = 10
    targets, key_rows = [], []
    for n, (case_id, (kind, name)) in enumerate(zip(ids, names, strict=True)):
        norm = normalise(name, kind)
        target_id = first_name_id + n
        targets.append(
            {
                "id": target_id,
                "case_id": case_id,
                "field": "target_name",
                "kind": kind,
                "name": name,
                "normalised": norm.text,
                "phonetic": norm.phonetic,
                "metaphone": norm.metaphone,
            }
        )
        key_rows += [{"key": k, "target_id": target_id, "case_id": case_id} for k in keys(norm, kind)]
    with engine.begin() as conn:
        for table, rows in ((CASE, cases), (TARGET_NAME, targets), (TARGET_KEY, key_rows)):
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[start : start + 20_000])
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(
        f"seeded {len(names):,} cases, {len(targets):,} names and {len(key_rows):,} keys "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return ids


# -- the deconfliction half -----------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def deconfliction(
    engine: Engine, *, targets: int, queries: int, brute: int, seed_value: int = 13
) -> list[str]:
    rng = random.Random(seed_value)
    everyone = population(rng, targets + queries)
    filed, strangers = everyone[:targets], everyone[targets:]
    case_ids = seed(engine, filed)
    sources = rng.sample(range(targets), queries)
    duplicates = [(filed[i][0], variant(rng, *filed[i]), case_ids[i]) for i in sources]
    # Half the strangers are new names, half look-alikes of names on file.
    near = [(filed[i][0], neighbour(rng, *filed[i])) for i in rng.sample(range(targets), queries // 2)]
    strangers = strangers[: queries - len(near)] + near
    asked = [(kind, name, cid) for kind, name, cid in duplicates] + [(k, n, None) for k, n in strangers]
    rng.shuffle(asked)

    timings: list[float] = []
    found_dup = wrong = right = 0
    missed: list[str] = []
    false_hits: list[str] = []
    with Session(engine) as s:
        index.search(s, names=[Name("warm up", "group", "target_name")], now=NOW)
        for kind, name, source in asked:
            names = [Name(name, kind, "target_name")]
            t0 = time.perf_counter()
            found = index.search(s, names=names, now=NOW)
            timings.append((time.perf_counter() - t0) * 1000)
            owners = {c.owner for c in found}
            if source is not None and source in owners:
                found_dup += 1
                right += 1
            elif source is not None:
                missed.append(name)
            if owners - {source}:
                others = [c.reasons[0].other_name for c in found if c.owner != source]
                false_hits.append(f"{name} ~ {', '.join(others)}")
            wrong += len(owners - {source})
    recall = found_dup / len(duplicates)
    precision = right / (right + wrong) if right + wrong else 1.0
    p50, p95, p99 = statistics.median(timings), _percentile(timings, 0.95), _percentile(timings, 0.99)

    # The same questions put to rapidfuzz over every name of the kind, no index (a sample of them).
    by_kind: dict[str, list[str]] = {}
    for kind, name in filed:
        by_kind.setdefault(kind, []).append(normalise(name, kind).text)
    brute_ms: list[float] = []
    for kind, name, _source in asked[:brute]:
        query = normalise(name, kind).text
        t0 = time.perf_counter()
        process.extract(
            query, by_kind[kind], scorer=fuzz.token_sort_ratio, limit=10, score_cutoff=THRESHOLD - 10
        )
        brute_ms.append((time.perf_counter() - t0) * 1000)
    brute_p50 = statistics.median(brute_ms)
    name = engine.dialect.name
    print(
        f"{name}: {len(asked):,} searches against {targets:,} targets: p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
        f"p99 {p99:.2f} ms "
        f"(goal < 20 ms); brute-force process.extract over every name of the kind: p50 {brute_p50:.1f} ms "
        f"({len(brute_ms)} searches)"
    )
    print(
        f"{name}: recall {recall:.3f} ({found_dup}/{len(duplicates)} known duplicates found), precision "
        f"{precision:.3f} ({wrong} wrong candidates) (goal recall >= 0.95 at precision >= 0.9)"
    )
    if missed or false_hits:
        print(f"{name}: missed, e.g. {missed[:5]}; wrongly linked, e.g. {false_hits[:5]}")
    return [
        f"ratio {name}: deconfliction p99 {p99:.2f} ms / goal 20 ms = {p99 / 20:.2f}; brute-force p50 "
        f"{brute_p50:.1f} ms / indexed p50 {p50:.2f} ms = {brute_p50 / p50:.0f}x; recall {recall:.3f}, "
        f"precision {precision:.3f}",
    ]


def tasking_list(engine: Engine, **_: Any) -> list[str]:
    """The tasking-list half (ranking, capacity and groups over 10,000 open cases): not written yet."""
    return []


HALVES: dict[str, Callable[..., list[str]]] = {"deconfliction": deconfliction, "tasking": tasking_list}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=500, help="known duplicates, and as many strangers")
    parser.add_argument("--brute", type=int, default=50, help="searches put to the brute-force peer")
    args = parser.parse_args()
    ratios: list[str] = []
    with ExitStack() as stack:
        urls = []
        base = os.environ.get("SCTAC_BENCH_DATABASE_URL")
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        urls.append(f"sqlite:///{folder}/coordination.db")
        if base:
            urls.append(stack.enter_context(postgres_database(base)))
        for url in urls:
            engine = make_engine(url)
            upgrade(engine)
            ratios += deconfliction(engine, targets=args.targets, queries=args.queries, brute=args.brute)
            engine.dispose()
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
