"""One interface over both backends: ``compile_rules(ruleset, backend) -> CompiledRules``.

``backend=None`` picks durable_rules when it can be imported and the native evaluator otherwise (with
a warning saying so); the workflow passes its ``SCTAC_RULES_BACKEND`` setting ("durable"|"native").
Compiled rulesets are cached per (version, backend) in a small LRU, so publishing or previewing the
same version again reuses it: durable_rules has no reload, and every new registration costs memory.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from rules.compiler import to_ir
from rules.decisions import Decider, Decisions
from rules.errors import BackendUnavailable
from rules.facts import FactTyper
from rules.model import Ruleset
from rules.partition import Partition

log = logging.getLogger("rules")

BACKENDS = ("durable", "native")
CACHE_SIZE = 16


class Matcher(Protocol):
    name: str
    cacheable: bool  # worth asking once per class of cases in a batch (see evaluate_many)

    def match(self, batch: Sequence[dict[str, Any]]) -> list[set[int]]: ...


class CompiledRules:
    """A ruleset compiled for one backend. Thread-safe; ``evaluate`` is a pure function of the facts."""

    def __init__(self, ruleset: Ruleset, matcher: Matcher, ir: dict[str, Any], note: str = "") -> None:
        self.ruleset = ruleset
        self.ir = ir
        self.version: str = ruleset.version
        self.backend: str = matcher.name
        self.note = note  # why the backend differs from the one asked for, if it does
        self._matcher = matcher
        self._decider = Decider(ir)
        self._typer = FactTyper(ruleset.vocabularies, ruleset.unit_kinds)
        # One partition per section: which routing rule matches depends only on the facts routing
        # rules read, and so on, so a batch needs few distinct questions per section.
        self._sections = [
            (
                Partition(r["when"] for r in ir["rules"] if r["section"] == section),
                frozenset(r["id"] for r in ir["rules"] if r["section"] == section),
            )
            for section in ("routing", "escalation", "policy")
        ]

    def type_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Check and normalise one case's facts (raises :class:`FactError`)."""
        return self._typer(facts)

    def evaluate(self, facts: Mapping[str, Any]) -> Decisions:
        typed = self.type_facts(facts)
        (matched,) = self._matcher.match([typed])
        return self._decider.decide(typed, matched, self.backend)

    def evaluate_many(
        self, facts: Iterable[Mapping[str, Any]], *, cache: bool = True, trace: bool = True
    ) -> list[Decisions]:
        """Evaluate a batch. With ``cache`` (the default) the engine is asked once per class of cases
        that no rule can tell apart (same side of every constant the rules mention, see
        rules/partition.py) and the answer reused inside this batch; traces still show each case's
        own values. ``cache=False`` sends every case to the engine. ``trace=False`` leaves the trace
        empty (for bulk comparisons such as a preview)."""
        typer = self._typer
        typed = [typer(f) for f in facts]
        decide = self._decider.decide
        backend = self.backend
        if not (cache and self._matcher.cacheable):
            matches = self._matcher.match(typed)
            return [decide(t, m, backend, trace) for t, m in zip(typed, matches, strict=True)]
        section_keys = []
        wanted: dict[int, None] = {}
        for partition, _ in self._sections:
            keys = [partition.key(t) for t in typed]
            first: dict[tuple[Any, ...], int] = {}
            for index, k in enumerate(keys):
                if k not in first:
                    first[k] = index
                    wanted[index] = None
            section_keys.append((keys, first))
        representatives = list(wanted)
        answers = dict(
            zip(representatives, self._matcher.match([typed[i] for i in representatives]), strict=True)
        )
        lookups = [
            {k: answers[i] & ids for k, i in first.items()}
            for (_, first), (_, ids) in zip(section_keys, self._sections, strict=True)
        ]
        (route_keys, _), (esc_keys, _), (policy_keys, _) = section_keys
        route_of, esc_of, policy_of = lookups
        return [
            decide(t, route_of[a] | esc_of[b] | policy_of[c], backend, trace)
            for t, a, b, c in zip(typed, route_keys, esc_keys, policy_keys, strict=True)
        ]

    def __repr__(self) -> str:
        return f"CompiledRules(version={self.version!r}, backend={self.backend!r})"


_cache: OrderedDict[tuple[str, str], CompiledRules] = OrderedDict()
_cache_lock = threading.Lock()
_warned = False


def durable_available() -> bool:
    from rules.engine_durable import import_durable

    try:
        import_durable()
    except BackendUnavailable:
        return False
    return True


def _build(backend: str, ir: dict[str, Any]) -> Matcher:
    if backend == "durable":
        from rules.engine_durable import DurableMatcher

        return DurableMatcher(ir)
    from rules.engine_native import NativeMatcher

    return NativeMatcher(ir)


def compile_rules(ruleset: Ruleset, backend: str | None = None) -> CompiledRules:
    """Compile (or fetch the compiled) ruleset for ``backend`` ("durable", "native" or None = best)."""
    global _warned
    note = ""
    if backend is None:
        if durable_available():
            backend = "durable"
        else:
            backend = "native"
            note = "durable_rules cannot be imported on this Python; using the native backend"
            if not _warned:
                log.warning(note)
                _warned = True
    elif backend not in BACKENDS:
        raise ValueError(f"unknown rules backend {backend!r} (choose from {', '.join(BACKENDS)})")
    key = (ruleset.version, backend)
    with _cache_lock:
        compiled = _cache.get(key)
        if compiled is not None:
            _cache.move_to_end(key)
            return compiled
        ir = to_ir(ruleset)
        compiled = CompiledRules(ruleset, _build(backend, ir), ir, note)
        _cache[key] = compiled
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)  # freed once no caller holds it any more
        return compiled
