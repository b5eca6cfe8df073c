"""A capacity file: each hub's capacity per capability, as an admin writes it for a new establishment.

    reason: 2027 establishment agreed at the strategic board   # optional, kept in the history
    capacity:
      EAST: {surveillance: 2, financial_investigation: 3}
      NORTH:
        surveillance: 1

Checked against the hubs and capabilities it may name, with every problem reported at once as
`file:line:col: field: message` (like the rule files). Pure: it reads the file and returns figures.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from rules.errors import RuleError, RuleFileErrors
from rules.yamlsrc import Reader, join

MAX_CAPACITY = 10_000


@dataclass(frozen=True)
class CapacityFile:
    capacity: dict[str, dict[str, int]]  # hub -> capability -> capacity
    reason: str | None


def load_capacity(path: Path, *, hubs: Collection[str], capabilities: Collection[str]) -> CapacityFile:
    errors: list[RuleError] = []
    r = Reader(str(path), errors)
    doc = r.load(path)
    out: dict[str, dict[str, int]] = {}
    reason: str | None = None
    top = r.mapping(doc, (1, 1), "") if doc is not None or not errors else None
    if top is not None:
        r.fields(top, "", required=("capacity",), optional=("reason",))  # reported; the rest still checked
    if top is not None and "capacity" in top:
        if "reason" in top:
            reason = r.string(top["reason"], r.value_pos(top, "reason", (1, 1)), "reason")
        by_hub = r.mapping(top["capacity"], r.value_pos(top, "capacity", (1, 1)), "capacity")
        for hub in by_hub if by_hub is not None else ():
            field = join("capacity", str(hub))
            pos = r.key_pos(by_hub, hub, (1, 1))
            assert by_hub is not None
            if str(hub) not in hubs:
                r.error(pos, field, f'unknown hub "{hub}" (known: {", ".join(sorted(hubs))})')
                continue
            figures = r.mapping(by_hub[hub], r.value_pos(by_hub, hub, pos), field)
            for capability in figures if figures is not None else ():
                cfield = join(field, str(capability))
                cpos = r.key_pos(figures, capability, pos)
                if str(capability) not in capabilities:
                    known = ", ".join(sorted(capabilities))
                    r.error(cpos, cfield, f'unknown capability "{capability}" (known: {known})')
                    continue
                vpos = r.value_pos(figures, capability, cpos)
                assert figures is not None
                n = r.integer(figures[capability], vpos, cfield, minimum=0)
                if n is not None and n > MAX_CAPACITY:
                    r.error(vpos, cfield, f"at most {MAX_CAPACITY}, got {n}")
                elif n is not None:
                    out.setdefault(str(hub), {})[str(capability)] = n
    if errors:
        raise RuleFileErrors(sorted(errors))
    return CapacityFile(out, reason)
