"""Names as the matcher compares them: transliterated, lower-cased, punctuation gone, the words that say
what a name is rather than which one it is ("the", "OCG", "gang", "crew", "firm"; "Mr"; "Rd" spelt out)
dropped or expanded, and the blocking keys under which a name is filed.

Pure functions: nothing here reads the database, so the same forms serve submission, a later
subject-access search and the benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from anyascii import anyascii

# What a target is, as the matcher groups them: names are only compared within one kind (an OCG called
# "Adams" is not the nominal "Terry Adams"). Crime themes are not names and are never matched.
KINDS = {"ocg": "group", "individual": "person", "location": "place"}

# Words that describe a group rather than name it: "The Brixton Boys OCG" and "Brixton Boys" are one.
_GROUP_AFFIXES = frozenset(
    {"the", "ocg", "ocn", "gang", "crew", "firm", "mob", "family", "clan", "cartel", "network", "group"}
)
# "organised crime group/network" spelt out, removed before the words are split.
_GROUP_PHRASES = re.compile(r"\borgani[sz]ed crime (group|network)s?\b")
_PERSON_AFFIXES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "aka"})
# Street words are spelt out so "Acre Ln" and "Acre Lane" agree; "the" never tells places apart.
_PLACE_WORDS = {
    "rd": "road",
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "est": "estate",
    "sq": "square",
    "pl": "place",
    "cres": "crescent",
    "gdns": "gardens",
    "ct": "court",
    "hse": "house",
    "twr": "tower",
    "dr": "drive",
    "the": "",
}
# Words that tell two otherwise equal names apart: "North Peckham Boys" is not "South Peckham Boys",
# "John Smith senior" is not his son.
QUALIFIERS = frozenset(
    {
        "north",
        "south",
        "east",
        "west",
        "upper",
        "lower",
        "new",
        "old",
        "little",
        "great",
        "junior",
        "senior",
        "jr",
        "sr",
        "younger",
        "elder",
    }
)
_PUNCTUATION = re.compile(r"[^a-z0-9 ]+")
_APOSTROPHES = re.compile(r"['`\u2019]")
_SPLIT_DIGITS = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


@dataclass(frozen=True, slots=True)
class Normalised:
    """One name in the matcher's form."""

    text: str  # the words, space-separated, in their order
    tokens: tuple[str, ...]
    compact: str  # the words run together: "man dem" and "mandem" agree
    phonetic: str  # each word's NYSIIS code, space-separated (vowel and consonant spellings agree)
    metaphone: str  # each word's metaphone code ("Aleksandr" and "Alexander" agree here, not in NYSIIS)
    numbers: frozenset[str]  # house numbers, postcode digits, "17" in "Moscow 17": never fuzzy
    qualifiers: frozenset[str]


def kind_of(target_type: str) -> str | None:
    """The kind a request's target type is matched as (None: not a name, never matched)."""
    return KINDS.get(target_type)


@lru_cache(maxsize=65536)
def normalise(name: str, kind: str) -> Normalised:
    """`name` as the matcher compares it, for a target of `kind` (group, person or place)."""
    text = anyascii(name).lower()
    text = _APOSTROPHES.sub("", text).replace("&", " and ")
    if kind == "group":
        text = _GROUP_PHRASES.sub(" ", text)
    text = _PUNCTUATION.sub(" ", text)
    text = _SPLIT_DIGITS.sub(" ", text)
    words = text.split()
    if kind == "group":
        kept = [w for w in words if w not in _GROUP_AFFIXES]
        words = kept or words  # "The Firm" is a name in its own right
    elif kind == "person":
        words = [w for w in words if w not in _PERSON_AFFIXES] or words
    elif kind == "place":
        words = [w for w in (_PLACE_WORDS.get(w, w) for w in words) if w]
    tokens = tuple(words)
    return Normalised(
        text=" ".join(tokens),
        tokens=tokens,
        compact="".join(tokens),
        phonetic=" ".join(_code(t) for t in tokens),
        metaphone=" ".join(_metaphone(t) for t in tokens),
        numbers=frozenset(t for t in tokens if t.isdigit()),
        qualifiers=frozenset(t for t in tokens if t in QUALIFIERS),
    )


def stored(text: str, phonetic: str, metaphone: str) -> Normalised:
    """A name's normalised form rebuilt from what the index keeps (no transliteration, no codes)."""
    tokens = tuple(text.split())
    return Normalised(
        text=text,
        tokens=tokens,
        compact="".join(tokens),
        phonetic=phonetic,
        metaphone=metaphone,
        numbers=frozenset(t for t in tokens if t.isdigit()),
        qualifiers=frozenset(t for t in tokens if t in QUALIFIERS),
    )


@lru_cache(maxsize=65536)
def _code(token: str) -> str:
    return token if token.isdigit() else jellyfish.nysiis(token)


@lru_cache(maxsize=65536)
def _metaphone(token: str) -> str:
    return token if token.isdigit() else jellyfish.metaphone(token)


def keys(norm: Normalised, kind: str) -> frozenset[str]:
    """The blocking keys a name is filed under: a candidate must share some with the name searched for.

    Per word, its NYSIIS and metaphone codes (spelling variants and transliterations share one), its
    first three letters and, for a longer word, its last three (a typo inside a word keeps one of them);
    and the first five letters of the words run together (split or joined words). Kind comes first, so
    one index holds every kind apart.
    """
    found: set[str] = set()
    for token in norm.tokens:
        if token.isdigit() or token in QUALIFIERS or len(token) < 2:
            continue
        found.add(f"{kind}:n:{_code(token)}")
        found.add(f"{kind}:m:{_metaphone(token)}")
        found.add(f"{kind}:p:{token[:3]}")
        if len(token) >= 5:
            found.add(f"{kind}:s:{token[-3:]}")
    if len(norm.compact) >= 4:
        found.add(f"{kind}:c:{norm.compact[:5]}")
    return frozenset(found)
