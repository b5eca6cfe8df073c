"""Which differences between cases can change a decision.

Rules only compare facts with the constants they mention, so two cases whose facts sit on the same
side of every constant take exactly the same rules. :class:`Partition` computes that "same side" key
(used by the durable backend to evaluate one case per class in a batch) and a small set of
representative values per fact (used by the checker to look for shadowed rules and routing gaps).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rules.conditions import leaves
from rules.facts import FACTS

_OTHER = "\x00other"  # an enum value no rule mentions: all such values behave alike


class Partition:
    def __init__(self, conditions: Iterable[dict[str, Any]]) -> None:
        self.values: dict[str, set[Any]] = {}
        for cond in conditions:
            for leaf in leaves(cond):
                seen = self.values.setdefault(leaf["fact"], set())
                if leaf["op"] == "in":
                    seen.update(leaf["value"])
                elif leaf["op"] != "exists":
                    seen.add(leaf["value"])
        self.facts = tuple(sorted(self.values))
        self._parts: list[Callable[[Mapping[str, Any]], Any]] = [self._part(f) for f in self.facts]

    def _part(self, name: str) -> Callable[[Mapping[str, Any]], Any]:
        kind = FACTS[name].kind
        mentioned = self.values[name]
        if kind == "number":
            thresholds = sorted(mentioned)
            exact = frozenset(thresholds)

            def number(facts: Mapping[str, Any]) -> Any:
                v = facts.get(name)
                return None if v is None else (bisect.bisect_left(thresholds, v), v in exact)

            return number
        if kind == "list":
            keep = frozenset(mentioned)

            def items(facts: Mapping[str, Any]) -> Any:
                v = facts.get(name)
                return None if v is None else tuple(x for x in v if x in keep)

            return items
        if kind == "bool":
            return lambda facts: facts.get(name)
        keep_values = frozenset(mentioned)

        def enum(facts: Mapping[str, Any]) -> Any:
            v = facts.get(name)
            return v if v is None or v in keep_values else _OTHER

        return enum

    def key(self, facts: Mapping[str, Any]) -> tuple[Any, ...]:
        """Equal keys => the same rules match (a pure function of the typed facts)."""
        return tuple(part(facts) for part in self._parts)

    def representatives(self, name: str, vocabularies: Mapping[str, tuple[str, ...]]) -> list[Any]:
        """Values of ``name`` covering every distinct behaviour of the rules; None stands for absent."""
        spec = FACTS[name]
        mentioned = self.values.get(name, set())
        if spec.kind == "number":
            points = sorted(mentioned)
            reps: set[float] = set(points)
            lo = spec.minimum if spec.minimum is not None else (points[0] - 1 if points else 0)
            edges = [lo, *points, (points[-1] + 1) if points else lo + 1]
            reps.update((a + b) / 2 for a, b in itertools.pairwise(edges) if a != b)
            if spec.maximum is not None:
                reps = {min(max(r, lo), spec.maximum) for r in reps}
            return [None, *sorted(reps)]
        if spec.kind == "bool":
            return [None, True, False]
        if spec.kind == "list":
            base = sorted(mentioned)
            known = vocabularies.get(spec.vocabulary or "", ())
            spare = next((v for v in known if v not in mentioned), None)
            if spec.vocabulary is None:
                spare = "\x00tag"
            universe = base + ([spare] if spare is not None else [])
            if len(universe) > 10:  # keep the enumeration small: singletons and pairs only
                subsets = [(a,) for a in universe] + [
                    (a, b) for i, a in enumerate(universe) for b in universe[i + 1 :]
                ]
            else:
                subsets = [
                    tuple(v for j, v in enumerate(universe) if mask >> j & 1)
                    for mask in range(1, 1 << len(universe))
                ]
            return [None, *(tuple(sorted(s)) for s in subsets)]
        allowed = vocabularies.get(spec.vocabulary or "", ()) if spec.vocabulary else spec.values
        return [None, *allowed]
