"""The matcher: names in, scored candidates with the reasons they matched out.

A plain function over plain values, so deconfliction at submission (`workflow.deconfliction.index`),
a subject-access search and the benchmark all ask the same question the same way. Two names match when,
in their normalised forms (`names.normalise`), their numbers agree exactly (14 Acre Lane is not 41),
their qualifiers agree (North Peckham is neither South Peckham nor Peckham), and a blend of
rapidfuzz's token-sort ratio over the spelling and over the words' NYSIIS codes reaches THRESHOLD: the
spelling carries most of the weight, the sound lets "Mohammed" meet "Muhammad" without letting "Jane"
meet "John".
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from workflow.deconfliction.names import Normalised, normalise

# Tuned on tests/workflow/deconfliction_golden.yaml (every pair linked, no look-alike linked) and checked
# for recall and precision on bench/coordination.py's generated set.
THRESHOLD = 88.0
SPELLING_WEIGHT = 0.7
ALGORITHM = "rapidfuzz token_sort_ratio: 0.7 spelling + 0.3 sound (NYSIIS or metaphone)"
EXACT = "equal once normalised"


@dataclass(frozen=True, slots=True)
class Name:
    """A name to match: what was written, which field it came from, and what kind of target it names."""

    value: str
    kind: str  # group, person, place (names.KINDS)
    field: str  # e.g. target_name, target_aliases[1], target_locations[0]

    @property
    def norm(self) -> Normalised:
        return normalise(self.value, self.kind)


@dataclass(frozen=True, slots=True)
class Known:
    """A name already on file, and whose it is (a case id, a subject's record: anything hashable)."""

    owner: Hashable
    name: Name
    norm: Normalised | None = None  # its normalised form, where the caller has it already

    @property
    def normalised(self) -> Normalised:
        return self.norm if self.norm is not None else self.name.norm


@dataclass(frozen=True, slots=True)
class Reason:
    """Why two names matched: which fields, which normalised forms, which algorithm, what score."""

    field: str
    name: str
    normalised: str
    other_field: str
    other_name: str
    other_normalised: str
    algorithm: str
    score: float

    def as_dict(self) -> dict[str, object]:
        return {
            "field": self.field,
            "name": self.name,
            "normalised": self.normalised,
            "other_field": self.other_field,
            "other_name": self.other_name,
            "other_normalised": self.other_normalised,
            "algorithm": self.algorithm,
            "score": self.score,
        }


@dataclass(slots=True)
class Candidate:
    """One owner whose names matched, its best score, and every pair of names that matched (best first)."""

    owner: Hashable
    score: float
    reasons: list[Reason] = field(default_factory=list)


def similarity(a: Normalised, b: Normalised) -> tuple[float, str]:
    """How alike two normalised names are (0-100) and by which test; 0 where numbers or qualifiers
    disagree, whatever the spelling says."""
    if a.text == b.text:
        return 100.0, EXACT
    if a.numbers != b.numbers:
        return 0.0, "numbers differ"
    # A qualifier names a faction or a generation: "West Peckham Boys" is not "Peckham Boys", nor "John
    # Smith junior" his father, however close the spelling (one-sided qualifiers included).
    if a.qualifiers != b.qualifiers:
        return 0.0, "qualifiers differ"
    spelling = max(fuzz.token_sort_ratio(a.text, b.text), fuzz.ratio(a.compact, b.compact))
    sound = max(
        fuzz.token_sort_ratio(a.phonetic, b.phonetic),
        fuzz.token_sort_ratio(a.metaphone, b.metaphone),
        fuzz.ratio(a.phonetic.replace(" ", ""), b.phonetic.replace(" ", "")),
    )
    return round(SPELLING_WEIGHT * spelling + (1 - SPELLING_WEIGHT) * sound, 1), ALGORITHM


def match(names: Sequence[Name], known: Iterable[Known], *, threshold: float = THRESHOLD) -> list[Candidate]:
    """Every owner of a known name that matches one of `names` (same kind), best score first."""
    found: dict[Hashable, Candidate] = {}
    by_kind: dict[str, list[Name]] = {}
    for n in names:
        if n.value.strip():
            by_kind.setdefault(n.kind, []).append(n)
    for k in known:
        for n in by_kind.get(k.name.kind, ()):
            a, b = n.norm, k.normalised
            score, algorithm = similarity(a, b)
            if score < threshold:
                continue
            reason = Reason(n.field, n.value, a.text, k.name.field, k.name.value, b.text, algorithm, score)
            hit = found.get(k.owner)
            if hit is None:
                found[k.owner] = Candidate(k.owner, score, [reason])
            else:
                hit.reasons.append(reason)
                hit.score = max(hit.score, score)
    for c in found.values():
        c.reasons.sort(key=lambda r: -r.score)
    return sorted(found.values(), key=lambda c: (-c.score, str(c.owner)))
