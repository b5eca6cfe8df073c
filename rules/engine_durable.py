"""The durable_rules backend: the compiled form as a durable_rules JSON ruleset.

How each known durable_rules trap (shared LIBRARY-NOTES.md) is handled here:

* Text/number coercion ("high" >= 80 holds there): facts are typed by rules/facts.py before they are
  posted; rule constants are typed by the loader.
* Event vs fact: cases are asserted as *facts*, so every matching rule fires; first-match routing and
  the other resolutions are done afterwards in rules/decisions.py, the same code the native backend
  uses. A fact that satisfies two branches of an ``$or`` (``in``/``any`` have no ``$in`` there and
  are expanded to ``$or``) fires the action twice: matches are collected into a set per case.
* No ``not`` operator: negations are pushed down to the comparisons (absent facts make ``not`` true).
  A condition made only of absences would also match durable's session-state message and loop
  forever (each action updates the state, which fires it again): every rule requires our case index.
* ``MessageNotHandledException`` carries the whole payload: a catch-all rule (the default route)
  handles every fact, and should it still be raised it is replaced by an error without the payload,
  never chained or logged.
* Exceptions inside actions are not raised but parked in the session state: after each batch the
  state is read and the session deleted, so a failure surfaces once and never sticks.
* 1,024 live sessions per ruleset: every batch uses one fixed session id and deletes it afterwards.
* Process-global ruleset names and no reload: each compiled version gets a unique name on its own Host
  and is kept in a bounded cache by rules/engine.py; the C ruleset is freed when its matcher is
  collected.
* Each Host starts two timer threads that cannot be stopped and that run actions in the background:
  our Host starts none (we use no timers), so actions run only inside our own calls.
* Threads: one lock per matcher; the C extension holds the GIL anyway, so it costs no throughput.
"""

from __future__ import annotations

import copy
import itertools
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from rules.errors import BackendUnavailable, RuleEngineError

_SID = "0"
_CASE = {"$ex": {"_i": 1}}
_CHUNK = 500  # facts per assert_facts call: amortises the JSON round trip, bounds session size
_names = itertools.count()


def import_durable() -> tuple[Any, Any]:
    """Import lazily: durable_rules 2.0.28 cannot import on Python 3.13+."""
    try:
        import durable_rules_engine
        from durable import engine
    except Exception as exc:  # ImportError, or OSError/undefined symbol from the C extension
        raise BackendUnavailable(
            f"durable_rules cannot be imported here ({exc.__class__.__name__}: {exc})"
        ) from None
    return engine, durable_rules_engine


def _positive(leaf: Mapping[str, Any]) -> dict[str, Any]:
    name: str = leaf["fact"]
    op: str = leaf["op"]
    value: Any = leaf.get("value")
    if op == "exists":
        return {"$ex": {name: 1}}
    if op == "==":
        return {name: value}
    if op == "!=":
        return {"$neq": {name: value}}
    if op == "in":
        return _join("$or", [{name: v} for v in value])
    if op == "contains":
        return {"$iany": {name: {"$i": value}}}
    return {{"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}[op]: {name: value}}


def _negative(leaf: Mapping[str, Any]) -> dict[str, Any]:
    name: str = leaf["fact"]
    op: str = leaf["op"]
    value: Any = leaf.get("value")
    absent = {"$nex": {name: 1}}
    if op == "exists":
        return absent
    if op == "==":
        present = {"$neq": {name: value}}
    elif op == "!=":
        present = {name: value}
    elif op == "in":
        present = _join("$and", [{"$neq": {name: v}} for v in value])
    elif op == "contains":
        # Typed facts never hold an empty list (it counts as absent), so "every item differs" is exact.
        present = {"$iall": {name: {"$neq": {"$i": value}}}}
    else:
        present = {{"<": "$gte", "<=": "$gt", ">": "$lte", ">=": "$lt"}[op]: {name: value}}
    return {"$or": [absent, present]}


def _join(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {op: parts}


def to_durable(cond: Mapping[str, Any], negate: bool = False) -> dict[str, Any]:
    """Our condition as a durable_rules expression, with ``not`` pushed down to the comparisons."""
    if "all" in cond or "any" in cond:
        kind = "all" if "all" in cond else "any"
        parts = [to_durable(c, negate) for c in cond[kind]]
        conjunction = (kind == "all") != negate
        return _join("$and" if conjunction else "$or", parts)
    if "not" in cond:
        return to_durable(cond["not"], not negate)
    return _negative(cond) if negate else _positive(cond)


def durable_ruleset(ir: Mapping[str, Any]) -> dict[str, Any]:
    """The durable_rules JSON ruleset: one rule per compiled rule, action named after it."""
    out: dict[str, Any] = {}
    for rule in ir["rules"]:
        when = rule["when"]
        # The always-true default route doubles as the catch-all that keeps every fact handled.
        # Every rule also requires our case index: a condition made only of absences ("no band") would
        # otherwise match durable's own session-state message, and each action's state update would
        # fire it again, forever.
        expr = _CASE if when == {"all": []} else {"$and": [_CASE, to_durable(when)]}
        out[f"r{rule['id']}"] = {"all": [{"m": expr}], "run": f"r{rule['id']}"}
    return out


class DurableMatcher:
    name = "durable"
    cacheable = True

    def __init__(self, ir: Mapping[str, Any], *, catch_all: bool = True) -> None:
        engine, native = import_durable()
        self._not_handled = engine.MessageNotHandledException
        self._lock = threading.Lock()
        sink: list[tuple[int, int]] = []
        self._sink = sink
        # How many actions one call may run before we call it a runaway (set per call in _run).
        budget = [0]
        self._budget = budget
        runaway: list[int] = []
        self._runaway = runaway

        host_base: Any = engine.Host

        class _Host(host_base):
            def _run(self) -> None:
                # The stock Host starts two unstoppable timer threads that dispatch actions in the
                # background; we use no timers, and actions must only run inside our own calls.
                return None

            def get_action(self, action_name: str) -> Any:
                rule_id = int(action_name[1:])

                def action(c: Any) -> None:  # durable requires exactly one positional argument
                    if len(sink) >= budget[0]:
                        # A rule fires a bounded number of times per fact; past that, durable is re-firing
                        # on its own output. An exception would only be parked in the session state and
                        # the loop would go on; a closure marked complete makes durable's action loop
                        # stop (Closure._has_completed), and _run turns the mark into an error.
                        runaway.append(rule_id)
                        c._completed = True
                        return
                    sink.append((rule_id, c.m["_i"]))

                return action

        definition = durable_ruleset(ir)
        if not catch_all:  # only for tests of the unhandled-message path
            definition = {k: v for k, v in definition.items() if v["all"] != [{"m": _CASE}]}
        self.definition = copy.deepcopy(definition)  # registering mutates the dict it is given
        self.ruleset_name = f"sctac_{ir['version']}_{next(_names)}"
        budget[0] = self._budget_for(1)  # _run resets it for each batch
        self._host = _Host()
        self._host.set_rulesets({self.ruleset_name: copy.deepcopy(definition)})
        handle = self._host.get_ruleset(self.ruleset_name)._handle
        weakref.finalize(self, native.delete_ruleset, handle)

    def match(self, batch: Sequence[dict[str, Any]]) -> list[set[int]]:
        results: list[set[int]] = [set() for _ in batch]
        with self._lock:
            for start in range(0, len(batch), _CHUNK):
                chunk = batch[start : start + _CHUNK]
                payload = [{**facts, "sid": _SID, "_i": start + i} for i, facts in enumerate(chunk)]
                self._run(payload, results)
        for matched in results:
            if not matched:
                raise RuleEngineError("durable_rules fired no rule for a case (the catch-all was lost)")
        return results

    def _run(self, payload: list[dict[str, Any]], results: list[set[int]]) -> None:
        sink = self._sink
        sink.clear()
        # Each rule fires at most once per fact, twice or more only through an $or's branches: a generous
        # multiple of facts x rules is never reached by a sound evaluation, and a looping one gets there fast.
        self._budget[0] = self._budget_for(len(payload))
        self._runaway.clear()
        failure: str | None = None
        try:
            self._host.assert_facts(self.ruleset_name, payload)
        except self._not_handled:
            # Its message holds every fact of the batch: drop it (no chaining, no logging). Nothing was
            # handled, so no session holds these facts; and touching a session that was never created
            # can crash the C extension, so leave the session alone.
            sink.clear()
            raise RuleEngineError(f"durable_rules handled none of {len(payload)} facts") from None
        if self._runaway:
            rules_seen = sorted({f"r{r}" for r in self._runaway})
            self._runaway.clear()
            sink.clear()
            self._host.delete_state(self.ruleset_name, _SID)
            raise RuleEngineError(
                f"durable_rules kept firing {', '.join(rules_seen)}: runaway evaluation stopped"
            )
        try:
            state = self._host.get_state(self.ruleset_name, _SID)
            if isinstance(state, dict) and "exception" in state:
                failure = "a rule action failed inside durable_rules"
        finally:
            # One fixed session per batch, always deleted: live sessions never pile up (1,024 max), no
            # fact outlives its batch, and a parked action error cannot stick.
            self._host.delete_state(self.ruleset_name, _SID)
        if failure is not None:
            sink.clear()
            raise RuleEngineError(failure)
        for rule_id, index in sink:  # a set per case: the $or double fire collapses here
            results[index].add(rule_id)
        sink.clear()

    def _budget_for(self, facts: int) -> int:
        return facts * max(1, len(self.definition)) * 32 + 1000

    def __repr__(self) -> str:
        return f"DurableMatcher({self.ruleset_name!r}, rules={len(self.definition)})"
