"""Finding a person's name across the records: normalisation, the fuzzy matcher, and the subject index.

Every case's title, summary and target name, every note and every attachment name is split into
normalised tokens (accents folded, case folded, punctuation dropped, common words left out) and each
token is written to `subject_token` with where it came from and its marking. Each distinct token also
gets its lookup keys in `subject_key`: itself and each one-letter deletion of it. Two words within two
edits of each other (a substitution, a transposition, a letter missed or doubled) always share a key, so
a misspelt name is found through the index: the query's keys fetch the candidate tokens, the matcher
scores them, and only the tokens that pass are looked up. Nothing scans notes or events.

`similarity` is the one place that says how alike two tokens are (rapidfuzz's normalised Indel ratio
with a length-dependent threshold); the deconfliction matcher, when it lands, can replace it here.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Connection, and_, delete, insert, intersect, select
from sqlalchemy.dialects import postgresql, sqlite

from workflow.tables import CASE, EVENT, SUBJECT_KEY, SUBJECT_TOKEN

MAX_TOKEN = 64
# Words too common to say anything about who is named (kept short: names like "May" or "Will" stay).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "him",
        "his",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "which",
        "who",
        "with",
        "you",
        "your",
        "not",
        "no",
        "yes",
        "than",
        "then",
        "there",
        "here",
        "also",
        "after",
        "before",
        "over",
        "under",
        "about",
        "all",
        "any",
        "can",
        "could",
        "did",
        "do",
        "does",
        "done",
        "if",
        "may",
        "might",
        "must",
        "shall",
        "should",
        "so",
        "some",
        "such",
        "up",
        "down",
        "out",
        "very",
        "what",
        "when",
        "where",
        "why",
        "how",
        "will",
        "would",
    ]
)
_SPLIT = re.compile(r"[^0-9a-z]+")
_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")


def normalise(text: str) -> str:
    """Lower case, accents folded to their base letters, apostrophes dropped (O'Brien -> obrien), every
    other non-alphanumeric run a single space."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    folded = _APOSTROPHES.sub("", folded)
    return " ".join(t for t in _SPLIT.split(folded) if t)


def tokens(text: str | None) -> list[str]:
    """The distinct index tokens of `text`, in order of first appearance."""
    seen: dict[str, None] = {}
    for t in normalise(text or "").split():
        if len(t) < 2 or t in STOPWORDS or not any(c.isalpha() for c in t):
            continue
        seen.setdefault(t[:MAX_TOKEN])
    return list(seen)


def keys(token: str) -> set[str]:
    """The token and each of its one-letter deletions (tokens of three letters or fewer: itself only,
    since one edit there is a different name, not a misspelling)."""
    found = {token}
    if len(token) > 3:
        found.update(token[:i] + token[i + 1 :] for i in range(len(token)))
    return found


@lru_cache(maxsize=1 << 16)
def similarity(a: str, b: str) -> float:
    """How alike two normalised tokens are, 0-100, or 0 when too far apart to be the same name: short
    tokens must match exactly, four or five letters allow one edit, longer ones about one in four."""
    if a == b:
        return 100.0
    shorter = min(len(a), len(b))
    if shorter <= 3:
        return 0.0
    score = float(fuzz.ratio(a, b))
    threshold = 80.0 if shorter <= 5 else 75.0
    return score if score >= threshold else 0.0


# -- writing the index -------------------------------------------------------------------------------------


def _insert_ignoring_duplicates(conn: Connection, rows: list[dict[str, str]]) -> None:
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(SUBJECT_KEY).on_conflict_do_nothing(), rows)


def index_item(
    conn: Connection, *, case_id: int, event_seq: int, source: str, marking: str, text: str | None
) -> int:
    """Index one item's tokens (inside the caller's transaction); returns how many."""
    found = tokens(text)
    if not found:
        return 0
    conn.execute(
        insert(SUBJECT_TOKEN),
        [
            {"token": t, "case_id": case_id, "event_seq": event_seq, "source": source, "marking": marking}
            for t in found
        ],
    )
    known = set(
        conn.execute(
            select(SUBJECT_KEY.c.key).where(
                SUBJECT_KEY.c.key.in_(found), SUBJECT_KEY.c.token == SUBJECT_KEY.c.key
            )
        ).scalars()
    )
    _insert_ignoring_duplicates(
        conn, [{"key": k, "token": t} for t in found if t not in known for k in sorted(keys(t))]
    )
    return len(found)


@dataclass(frozen=True)
class Item:
    case_id: int
    event_seq: int
    source: str
    marking: str
    text: str | None


def index_items(conn: Connection, items: Iterable[Item], *, batch: int = 50_000) -> int:
    """Index many items at once (a rebuild, a bulk import): tokens by executemany, each new distinct
    token's keys once. Returns the number of token rows written."""
    rows: list[dict[str, Any]] = []
    vocabulary: set[str] = set()
    written = 0
    for item in items:
        for t in tokens(item.text):
            vocabulary.add(t)
            rows.append(
                {
                    "token": t,
                    "case_id": item.case_id,
                    "event_seq": item.event_seq,
                    "source": item.source,
                    "marking": item.marking,
                }
            )
        if len(rows) >= batch:
            conn.execute(insert(SUBJECT_TOKEN), rows)
            written += len(rows)
            rows = []
    if rows:
        conn.execute(insert(SUBJECT_TOKEN), rows)
        written += len(rows)
    known = set(
        conn.execute(select(SUBJECT_KEY.c.token).where(SUBJECT_KEY.c.key == SUBJECT_KEY.c.token)).scalars()
    )
    fresh = [{"key": k, "token": t} for t in sorted(vocabulary - known) for k in sorted(keys(t))]
    for start in range(0, len(fresh), batch):
        _insert_ignoring_duplicates(conn, fresh[start : start + batch])
    return written


def index_case(conn: Connection, case: Mapping[str, Any]) -> None:
    """A case's own fields (its submission): target name, title and summary."""
    for source in ("target", "title", "summary"):
        column = {"target": "target_name"}.get(source, source)
        index_item(
            conn,
            case_id=case["id"],
            event_seq=0,
            source=source,
            marking=case["protective_marking"],
            text=case.get(column),
        )


def index_event(
    conn: Connection, *, case_id: int, seq: int, trigger: str, payload: Mapping[str, Any]
) -> None:
    """A note's text or an attachment's name (other events name nobody new)."""
    if trigger == "note":
        text, marking, source = payload.get("note"), payload.get("note_marking"), "note"
    elif trigger == "attach":
        file = payload.get("attachment") or {}
        text, marking, source = file.get("name"), file.get("marking"), "attachment"
    else:
        return
    if text and marking:
        index_item(conn, case_id=case_id, event_seq=seq, source=source, marking=str(marking), text=str(text))


def forget(conn: Connection, *, case_id: int, event_seq: int | None = None) -> None:
    """Drop an item's tokens (a redacted note, a disposed case: `event_seq` None drops the whole case).
    Keys of tokens no longer used anywhere stay: they name no case, and another item may reuse them."""
    query = delete(SUBJECT_TOKEN).where(SUBJECT_TOKEN.c.case_id == case_id)
    if event_seq is not None:
        query = query.where(SUBJECT_TOKEN.c.event_seq == event_seq)
    conn.execute(query)


def _items_of(conn: Connection) -> Iterable[Item]:
    for case in conn.execute(
        select(CASE.c.id, CASE.c.title, CASE.c.summary, CASE.c.target_name, CASE.c.protective_marking)
    ).mappings():
        for source, column in (("target", "target_name"), ("title", "title"), ("summary", "summary")):
            yield Item(case["id"], 0, source, case["protective_marking"], case[column])
    for ev in conn.execute(
        select(EVENT.c.case_id, EVENT.c.seq, EVENT.c.trigger, EVENT.c.payload).where(
            EVENT.c.trigger.in_(("note", "attach"))
        )
    ).mappings():
        payload = ev["payload"] or {}
        if ev["trigger"] == "note":
            text, marking, source = payload.get("note"), payload.get("note_marking"), "note"
        else:
            file = payload.get("attachment") or {}
            text, marking, source = file.get("name"), file.get("marking"), "attachment"
        if text and marking:
            yield Item(ev["case_id"], ev["seq"], source, str(marking), str(text))


def reindex(conn: Connection) -> int:
    """Rebuild the whole index from the cases and their note and attachment events; returns token rows."""
    conn.execute(delete(SUBJECT_TOKEN))
    return index_items(conn, list(_items_of(conn)))


# -- searching it ------------------------------------------------------------------------------------------


@dataclass
class Hit:
    """One item naming every word of the query (fuzzily): where it is and how well it matched."""

    case_id: int
    event_seq: int
    sources: set[str] = field(default_factory=set)
    markings: set[str] = field(default_factory=set)
    matched: dict[str, tuple[str, float]] = field(default_factory=dict)  # query token -> (found, score)

    @property
    def score(self) -> float:
        return round(sum(s for _, s in self.matched.values()) / max(len(self.matched), 1), 1)


def candidates(conn: Connection, query_tokens: Sequence[str]) -> dict[str, dict[str, float]]:
    """For each query token, the indexed tokens alike enough to be it, with their similarity."""
    wanted = {q: keys(q) for q in query_tokens}
    all_keys = sorted(set().union(*wanted.values())) if wanted else []
    if not all_keys:
        return {}
    by_key: dict[str, set[str]] = defaultdict(set)
    for key, token in conn.execute(
        select(SUBJECT_KEY.c.key, SUBJECT_KEY.c.token).where(SUBJECT_KEY.c.key.in_(all_keys))
    ):
        by_key[key].add(token)
    out: dict[str, dict[str, float]] = {}
    for q, q_keys in wanted.items():
        scored = {}
        for token in set().union(*(by_key.get(k, set()) for k in q_keys)):
            score = similarity(q, token)
            if score > 0:
                scored[token] = score
        out[q] = scored
    return out


def find(conn: Connection, name: str, *, limit: int = 500) -> list[Hit]:
    """Items (a case's own fields, or one note or attachment) that name every word of `name`, best first."""
    query_tokens = tokens(name)
    if not query_tokens:
        return []
    alike = candidates(conn, query_tokens)
    if any(not alike.get(q) for q in query_tokens):
        return []
    owner_of: dict[str, list[str]] = defaultdict(list)
    for q, found in alike.items():
        for token in found:
            owner_of[token].append(q)
    # The items holding some candidate of every query word, intersected in the database (each arm an
    # index-only range scan of (token, case_id, event_seq)), so only the items that match reach Python.
    arms = [
        select(SUBJECT_TOKEN.c.case_id, SUBJECT_TOKEN.c.event_seq).where(
            SUBJECT_TOKEN.c.token.in_(sorted(alike[q]))
        )
        for q in query_tokens
    ]
    matching = (intersect(*arms) if len(arms) > 1 else arms[0]).subquery("matching")
    hits: dict[tuple[int, int], Hit] = {}
    rows = conn.execute(
        select(
            SUBJECT_TOKEN.c.case_id,
            SUBJECT_TOKEN.c.event_seq,
            SUBJECT_TOKEN.c.token,
            SUBJECT_TOKEN.c.source,
            SUBJECT_TOKEN.c.marking,
        )
        .join(
            matching,
            and_(
                SUBJECT_TOKEN.c.case_id == matching.c.case_id,
                SUBJECT_TOKEN.c.event_seq == matching.c.event_seq,
            ),
        )
        .where(SUBJECT_TOKEN.c.token.in_(sorted(owner_of)))
    )
    for case_id, seq, token, source, marking in rows:
        hit = hits.setdefault((case_id, seq), Hit(case_id, seq))
        hit.sources.add(source)
        hit.markings.add(marking)
        for q in owner_of[token]:
            score = alike[q][token]
            if q not in hit.matched or hit.matched[q][1] < score:
                hit.matched[q] = (token, score)
    complete = [h for h in hits.values() if len(h.matched) == len(query_tokens)]
    complete.sort(key=lambda h: (-h.score, -h.case_id, h.event_seq))
    return complete[:limit]
