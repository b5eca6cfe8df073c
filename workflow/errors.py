"""Typed domain errors. The API maps them to problem+json, the CLI to one stderr line, each in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error a user can cause and fix; never a bug."""

    title = "Request cannot be processed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigError(DomainError):
    title = "Bad configuration"


class NotFound(DomainError):
    title = "Not found"


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidInput(DomainError):
    """Input that breaks a rule of shape or vocabulary; carries every problem, each naming its field."""

    title = "Invalid input"

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class GuardFailed(DomainError):
    """A legal trigger whose preconditions are not met (e.g. task without an owner)."""

    title = "Transition not allowed yet"

    def __init__(self, trigger: str, problems: Sequence[FieldProblem]) -> None:
        self.trigger = trigger
        self.problems = list(problems)
        super().__init__(f"cannot {trigger}: " + "; ".join(str(p) for p in self.problems))


class IllegalTransition(DomainError):
    """A trigger that does not exist, or is not legal from the case's current state."""

    title = "Illegal transition"

    def __init__(self, trigger: str, state: str, legal: Sequence[str]) -> None:
        self.trigger = trigger
        self.state = state
        self.legal = list(legal)
        names = ", ".join(self.legal) if self.legal else "none (the case is finished)"
        super().__init__(f"cannot {trigger} a case that is {state}; legal from {state}: {names}")


class Conflict(DomainError):
    """Someone else changed the case between our read and our write: nothing was written."""

    title = "Case changed under you"

    def __init__(self, reference: str, current_version: int, current_state: str) -> None:
        self.reference = reference
        self.current_version = current_version
        self.current_state = current_state
        super().__init__(
            f"{reference} was changed by someone else; it is now {current_state} at version "
            f"{current_version}. Reload it and try again; nothing was saved."
        )


class StaleVersion(Conflict):
    """The caller acted on a version it read earlier that is no longer current (HTTP 412)."""

    title = "Precondition failed"

    def __init__(self, reference: str, expected: int, current_version: int, current_state: str) -> None:
        super().__init__(reference, current_version, current_state)
        self.expected = expected
        self.detail = (
            f"{reference} is at version {current_version} ({current_state}), not {expected}; "
            "reload it and try again; nothing was saved."
        )
        self.args = (self.detail,)


class RulesInvalid(DomainError):
    """A candidate ruleset that does not load; `lines` are `file:line:col: field: message` strings."""

    title = "Rule files have errors"

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__(f"{len(self.lines)} error(s) in the rule files:\n" + "\n".join(self.lines))


class Settled(DomainError):
    """The thing acted on is already finished (e.g. an escalation that is resolved)."""

    title = "Already settled"
