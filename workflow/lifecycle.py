"""The case lifecycle, declared once as data and driven by one shared ``transitions`` Machine.

No case row ever gets a Machine of its own: the service wraps the row's state in a throw-away
``Transit`` object and fires the shared machine's event on it. Guards are named checks that return
every problem at once, so a user sees all that is missing, not one thing per attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine

from workflow.errors import FieldProblem


class State(StrEnum):
    SUBMITTED = "submitted"
    ASSESSED = "assessed"
    PRIORITISED = "prioritised"
    TASKED = "tasked"
    REVIEWED = "reviewed"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TERMINAL = frozenset({State.CLOSED, State.REJECTED, State.WITHDRAWN})
# Before tasking, the rules decide the hub; afterwards it belongs to the tasking decision.
ROUTABLE = frozenset({State.SUBMITTED, State.ASSESSED, State.PRIORITISED})
OPEN_STATES = tuple(s.value for s in State if s not in TERMINAL)

OUTCOMES = (
    "charged",
    "disrupted",
    "safeguarded",
    "intelligence_developed",
    "referred_regional",
    "referred_national",
    "no_further_action",
)
STRANDS_4P = ("pursue", "prevent", "protect", "prepare")

_OPEN = (State.SUBMITTED, State.ASSESSED, State.PRIORITISED, State.TASKED, State.REVIEWED)
_CLOCKED = (State.SUBMITTED, State.ASSESSED, State.PRIORITISED)

# The lifecycle as data: (trigger, sources, destination). A destination of None is an internal
# transition: the case stays where it is but the event is recorded (e.g. `rescore` appends a new MoRiLE
# assessment, `await_information` pauses the SLA clock while the centre waits on the requester, `defer`
# records the tasking meeting putting a case off).
TRANSITIONS: tuple[tuple[str, tuple[State, ...], State | None], ...] = (
    ("assess", (State.SUBMITTED,), State.ASSESSED),
    ("prioritise", (State.ASSESSED,), State.PRIORITISED),
    ("task", (State.PRIORITISED,), State.TASKED),
    ("review", (State.TASKED,), State.REVIEWED),
    ("continue", (State.REVIEWED,), State.TASKED),
    ("reassess", (State.TASKED, State.REVIEWED), State.ASSESSED),
    ("close", (State.REVIEWED,), State.CLOSED),
    ("reject", (State.SUBMITTED, State.ASSESSED), State.REJECTED),
    ("withdraw", (State.SUBMITTED, State.ASSESSED, State.PRIORITISED), State.WITHDRAWN),
    ("rescore", (State.ASSESSED, State.PRIORITISED, State.TASKED, State.REVIEWED), None),
    ("await_information", _CLOCKED, None),
    # Story 4: the tasking meeting puts a case off, saying why; it stays on the tasking list, ranked as
    # before (a deferred P1 must not sink), and its SLA clock keeps running.
    ("defer", (State.ASSESSED, State.PRIORITISED), None),
    ("information_received", _CLOCKED, None),
)
TRIGGERS = tuple(t for t, _, _ in TRANSITIONS)


def scoring_trigger(state: str) -> str:
    """A MoRiLE score assesses a submitted case and re-scores one already assessed."""
    return "assess" if state == State.SUBMITTED.value else "rescore"


# Events the system and the escalation handlers record on open cases; people cannot fire them as
# triggers, but the audit checks them against the lifecycle like any other event.
SYSTEM_EVENTS = (
    "sla_breached",
    "review_reminder",
    "review_overdue",
    "escalation_step",
    "escalation_acknowledged",
    "escalation_snoozed",
    "snooze_ended",
    "escalation_resolved",
    "rules_applied",
)


@dataclass
class Transit:
    """The model one firing works on: the case's current values plus the caller's input."""

    state: str
    case: Mapping[Any, Any]
    data: Mapping[str, Any]
    problems: list[FieldProblem] = field(default_factory=list)


Guard = Callable[[Transit], list[FieldProblem]]


def _needs(name: str, message: str) -> Guard:
    def guard(t: Transit) -> list[FieldProblem]:
        value = t.data.get(name)
        return [] if value not in (None, "", [], {}) else [FieldProblem(name, message)]

    guard.__name__ = f"needs_{name}"
    return guard


def _needs_hub(t: Transit) -> list[FieldProblem]:
    if t.data.get("hub") or t.case.get("hub"):
        return []
    return [FieldProblem("hub", "a hub is required to task a case (the rules routed it nowhere)")]


def _needs_owner_for_task(t: Transit) -> list[FieldProblem]:
    return [] if t.data.get("owner") else [FieldProblem("owner", "an owner is required to task a case")]


def _not_awaiting(t: Transit) -> list[FieldProblem]:
    if t.case.get("awaiting_since") is None:
        return []
    return [
        FieldProblem("state", f"already awaiting information since {t.case['awaiting_since']:%Y-%m-%d %H:%M}")
    ]


def _awaiting(t: Transit) -> list[FieldProblem]:
    if t.case.get("awaiting_since") is not None:
        return []
    return [FieldProblem("state", "the case is not awaiting information")]


GUARDS: dict[str, tuple[Guard, ...]] = {
    "assess": (_needs("assessment", "a complete MoRiLE assessment is required to assess a case"),),
    "prioritise": (),
    "task": (_needs_hub, _needs_owner_for_task),
    "review": (_needs("progress", "a review records the progress made"),),
    "continue": (),
    "reassess": (_needs("reason", "say what new intelligence or change calls for reassessment"),),
    "close": (_needs("outcome", f"an outcome is required to close a case ({', '.join(OUTCOMES)})"),),
    "reject": (_needs("reason", "a reason is required to reject a request"),),
    "withdraw": (_needs("reason", "a reason is required to withdraw a request"),),
    "rescore": (_needs("assessment", "a complete MoRiLE assessment is required to re-score a case"),),
    "defer": (_needs("reason", "say why the meeting deferred it (the requester is told)"),),
    "await_information": (
        _needs("reason", "say what the centre is waiting for from the requester"),
        _not_awaiting,
    ),
    "information_received": (_awaiting,),
}


def _check_guards(event: EventData) -> bool:
    transit = event.model
    assert isinstance(transit, Transit)
    for guard in GUARDS[event.event.name]:
        transit.problems.extend(guard(transit))
    return not transit.problems


def _build_machine() -> Machine:
    transitions = [
        {
            "trigger": trigger,
            "source": [s.value for s in sources],
            "dest": dest.value if dest else None,
            "conditions": [_check_guards],
        }
        for trigger, sources, dest in TRANSITIONS
    ]
    return Machine(
        model=None,
        states=[s.value for s in State],
        transitions=transitions,
        initial=None,
        auto_transitions=False,
        send_event=True,
        model_attribute="state",
    )


MACHINE = _build_machine()


def legal_triggers(state: str) -> list[str]:
    """Triggers that exist from `state`, in lifecycle order (guards not evaluated)."""
    return [t for t, sources, _ in TRANSITIONS if state in sources]


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram, generated from TRANSITIONS so it cannot drift.
    Internal transitions (no state change) are left out to keep the picture readable."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.SUBMITTED.value}"]
    for trigger, sources, dest in TRANSITIONS:
        if dest is None:
            continue
        for source in sources:
            lines.append(f"    {source.value} --> {(dest or source).value}: {trigger}")
    lines.extend(f"    {s.value} --> [*]" for s in State if s in TERMINAL)
    return "\n".join(lines) + "\n"


def next_state(state: str, trigger: str) -> str | None:
    """Where `trigger` takes a case in `state` by the definition (guards aside); None if illegal."""
    if trigger in SYSTEM_EVENTS:
        return state if state in _OPEN else None
    for name, sources, dest in TRANSITIONS:
        if name == trigger and state in sources:
            return (dest or State(state)).value
    return None


def replay(steps: Iterable[tuple[str, str]]) -> str:
    """Fold (trigger, recorded to_state) pairs from a submitted case; raise ValueError on any step the
    lifecycle does not allow, so an event log can be checked against the definition."""
    state = State.SUBMITTED.value
    for trigger, recorded in steps:
        expected = next_state(state, trigger)
        if expected is None or expected != recorded:
            raise ValueError(f"{trigger} from {state} cannot lead to {recorded}")
        state = expected
    return state
