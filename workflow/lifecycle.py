"""The case lifecycle, derived from the trigger definitions and driven by one shared ``transitions``
Machine.

No case row ever gets a Machine of its own: the service wraps the row's state in a throw-away
``Transit`` object and fires the shared machine's event on it. Every view of the lifecycle here (the
machine, the legal moves, the replay the audit uses, the diagram) is derived from
`workflow.triggers.REGISTRY`, and rebuilt if the registry changes (a test-only trigger).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from transitions import EventData, Machine

from workflow import triggers
from workflow.errors import FieldProblem
from workflow.states import CLOCKED as CLOCKED
from workflow.states import OPEN
from workflow.states import OPEN_STATES as OPEN_STATES
from workflow.states import OUTCOMES as OUTCOMES
from workflow.states import ROUTABLE as ROUTABLE
from workflow.states import STRANDS_4P as STRANDS_4P
from workflow.states import SYSTEM_EVENTS as SYSTEM_EVENTS
from workflow.states import TERMINAL as TERMINAL
from workflow.states import State as State

T = TypeVar("T")
_cache: dict[Callable[[], Any], tuple[int, Any]] = {}


def derived(build: Callable[[], T]) -> T:
    """`build()`'s result, kept until the trigger registry changes."""
    hit = _cache.get(build)
    if hit is None or hit[0] != triggers.generation():
        hit = (triggers.generation(), build())
        _cache[build] = hit
    result: T = hit[1]
    return result


class LiveTuple(Sequence[T]):
    """A tuple derived from the registry, always current (module constants would go stale)."""

    def __init__(self, build: Callable[[], tuple[T, ...]]) -> None:
        self._build = build

    def _items(self) -> tuple[T, ...]:
        return derived(self._build)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[T]:
        return iter(self._items())

    def __contains__(self, item: object) -> bool:
        return item in self._items()

    def __repr__(self) -> str:
        return repr(self._items())


V = TypeVar("V")


class LiveMap(Mapping[str, V]):
    """A mapping derived from the registry, always current."""

    def __init__(self, build: Callable[[], dict[str, V]]) -> None:
        self._build = build

    def _items(self) -> dict[str, V]:
        return derived(self._build)

    def __getitem__(self, key: str) -> V:
        return self._items()[key]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


def _transitions() -> tuple[tuple[str, tuple[State, ...], State | None], ...]:
    return tuple((s.name, s.sources, s.dest) for s in triggers.fireable())


# The lifecycle as (trigger, sources, destination); a destination of None is an internal transition: the
# case stays where it is but the event is recorded (e.g. `rescore` appends a new MoRiLE assessment).
TRANSITIONS: Sequence[tuple[str, tuple[State, ...], State | None]] = LiveTuple(_transitions)
# Triggers a person fires on an existing case, in lifecycle order.
TRIGGERS: Sequence[str] = LiveTuple(lambda: tuple(s.name for s in triggers.fireable()))
# The input fields each trigger accepts.
TRIGGER_FIELDS: Mapping[str, frozenset[str]] = LiveMap(
    lambda: {s.name: s.fields for s in triggers.fireable()}
)


def scoring_trigger(state: str) -> str:
    """A MoRiLE score assesses a submitted case and re-scores one already assessed."""
    return "assess" if state == State.SUBMITTED.value else "rescore"


@dataclass
class Transit:
    """The model one firing works on: the case's current values plus the caller's input."""

    state: str
    case: Mapping[str, Any]
    data: Mapping[str, Any]
    problems: list[FieldProblem] = field(default_factory=list)


def _check_guards(event: EventData) -> bool:
    transit = event.model
    assert isinstance(transit, Transit)
    spec = triggers.REGISTRY[event.event.name]
    transit.problems.extend(spec.problems(transit.case, transit.data))
    return not transit.problems


def _build_machine() -> Machine:
    return Machine(
        model=None,
        states=[s.value for s in State],
        transitions=[
            {
                "trigger": name,
                "source": [s.value for s in sources],
                "dest": dest.value if dest else None,
                "conditions": [_check_guards],
            }
            for name, sources, dest in _transitions()
        ],
        initial=None,
        auto_transitions=False,
        send_event=True,
        model_attribute="state",
    )


def machine() -> Machine:
    """The one shared machine (rebuilt only if the registry changes)."""
    return derived(_build_machine)


def legal_triggers(state: str) -> list[str]:
    """Triggers that exist from `state`, in lifecycle order (guards not evaluated)."""
    return [t for t, sources, _ in TRANSITIONS if state in sources]


def offered_triggers(case: Mapping[str, Any]) -> list[str]:
    """Triggers legal from the case's state whose conditions on the case hold (input aside): what a
    person is offered (`information_received` only while the case awaits information)."""
    return [s.name for s in triggers.fireable() if case["state"] in s.sources and s.offered(case)]


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram, generated from the definitions so it cannot drift.
    Internal transitions (no state change) are left out to keep the picture readable."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.SUBMITTED.value}"]
    for trigger, sources, dest in TRANSITIONS:
        if dest is None:
            continue
        for source in sources:
            lines.append(f"    {source.value} --> {dest.value}: {trigger}")
    lines.extend(f"    {s.value} --> [*]" for s in State if s in TERMINAL)
    return "\n".join(lines) + "\n"


def next_state(state: str, trigger: str) -> str | None:
    """Where `trigger` takes a case in `state` by the definition (guards aside); None if illegal."""
    if trigger in SYSTEM_EVENTS:
        return state if state in OPEN else None
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
