"""The native backend: the compiled form as plain Python closures (also the test oracle)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rules.conditions import compile_condition


class NativeMatcher:
    name = "native"
    cacheable = False  # the oracle: every case is evaluated on its own

    def __init__(self, ir: Mapping[str, Any]) -> None:
        by_rank = sorted(ir["rules"], key=lambda r: r["rank"])  # each section's rules in their order
        self.routing = [(r["id"], compile_condition(r["when"])) for r in by_rank if r["section"] == "routing"]
        self.others = [(r["id"], compile_condition(r["when"])) for r in by_rank if r["section"] != "routing"]

    def match_one(self, facts: dict[str, Any]) -> set[int]:
        matched = {rule_id for rule_id, holds in self.others if holds(facts)}
        for rule_id, holds in self.routing:  # first match wins: no need to look further
            if holds(facts):
                matched.add(rule_id)
                break
        return matched

    def match(self, batch: Sequence[dict[str, Any]]) -> list[set[int]]:
        return [self.match_one(facts) for facts in batch]
