"""Things worth counting, announced where they happen, to whoever listens (api/metrics.py wires
Prometheus in; with no listener an announcement costs one empty loop).

workflow/ must not import api/ (dependencies point one way), so it calls listeners registered here.
Announcements are made after the commit, so a rolled-back change is never counted. Labels are names
from the definitions (a trigger, a backend, a timer kind), never case data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("sctac.observe")

# (what happened, its labels, a value: 1 for a count, seconds for a duration)
Listener = Callable[[str, dict[str, str], float], None]
_listeners: list[Listener] = []

TRANSITION = "transition"  # labels: trigger
RULE_DECISION = "rule_decision"  # labels: backend
TIMER_FIRED = "timer_fired"  # labels: kind; value: seconds between due and fired (the lag)


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def unlisten(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def announce(what: str, labels: dict[str, str], value: float = 1.0) -> None:
    for listener in tuple(_listeners):
        try:
            listener(what, labels, value)
        except Exception:  # a broken metric must never fail the change it counts
            log.exception("listener for %s failed", what)
