"""Every error a user can cause, defined once with what it means: its kind, HTTP status and words.

The API turns these into problem+json, the pages into an error page or the message beside a form, the
CLI into one stderr line: all three read ``kind``, ``status``, ``title`` and ``public_detail()`` from
the class, so the same mistake gets the same status and the same words everywhere. Subclasses inherit
their parent's status unless they say otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


class DomainError(Exception):
    """Base of every error a user can cause and fix; never a bug."""

    kind = "bad-request"
    status = 400
    title = "Request cannot be processed"
    # How a page heads the error (staff words; the API uses `title`).
    page_title = "Cannot do that"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def public_detail(self) -> str:
        """What the person who caused it is shown (the full detail, unless it is for operators only)."""
        return self.detail


class ConfigError(DomainError):
    """The server's own configuration (settings, rule files, matrix) is broken: no user can fix it.

    The detail is for the operators' log only: it can hold loader text and file paths."""

    kind = "configuration"
    status = 503
    title = "Server misconfigured"
    page_title = "The centre's rules could not be loaded"

    def public_detail(self) -> str:
        return "The centre's rules could not be loaded; the operators have been told. Nothing was saved."


class NotAuthenticated(DomainError):
    """No valid credentials. Deliberately says nothing about which part was wrong."""

    kind = "not-authenticated"
    status = 401
    title = "Not authenticated"
    page_title = "Sign in first"


class AccountLocked(DomainError):
    """Too many failed sign-ins in a row: the name is refused, right password or not, until `until`
    or until an admin unlocks it. Said the same way for names that do not exist."""

    kind = "account-locked"
    status = 429
    title = "Account locked"
    page_title = "Signing in is paused"

    def __init__(self, detail: str, *, until: datetime) -> None:
        super().__init__(detail)
        self.until = until


class Forbidden(DomainError):
    """The caller may see the case (or has no case to see) but lacks the role or clearance to act."""

    kind = "forbidden"
    status = 403
    title = "Forbidden"
    page_title = "Not allowed"

    def __init__(self, detail: str, *, needed: Iterable[str] = ()) -> None:
        super().__init__(detail)
        self.needed = list(needed)


class NotFound(DomainError):
    """No such thing, or one the caller may not see (the two are told apart by nobody)."""

    kind = "not-found"
    status = 404
    title = "Not found"
    page_title = "Not found"


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidInput(DomainError):
    """Input that breaks a rule of shape or vocabulary; carries every problem, each naming its field."""

    kind = "invalid-input"
    status = 422
    title = "Invalid input"
    page_title = "Check what you entered"

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class BadCursor(InvalidInput):
    """A pagination cursor that this server did not make for this query."""

    kind = "bad-cursor"
    status = 400
    title = "Bad cursor"


class PreconditionRequired(InvalidInput):
    """A change that must name the version it was based on (If-Match)."""

    kind = "precondition-required"
    status = 428
    title = "Precondition required"

    @classmethod
    def if_match(cls) -> PreconditionRequired:
        return cls(
            [FieldProblem("If-Match", "send the case's version (its ETag) so a concurrent change is caught")]
        )


class KeyReused(InvalidInput):
    """The idempotency key was first used for a different request."""

    kind = "idempotency-key-reused"
    title = "Idempotency key reused"


class FileTooLarge(InvalidInput):
    """An uploaded file over the size limit (SCTAC_ATTACHMENT_MAX_BYTES); nothing is kept of it."""

    kind = "file-too-large"
    status = 413
    title = "File too large"
    page_title = "That file is too large"


class UnsupportedFile(InvalidInput):
    """An uploaded file of a type the centre does not accept, or whose content is not what it claims."""

    kind = "unsupported-file"
    status = 415
    title = "Unsupported file"
    page_title = "That file cannot be attached"


class GuardFailed(DomainError):
    """A legal trigger whose preconditions are not met (e.g. task without an owner)."""

    kind = "guard-failed"
    status = 422
    title = "Transition not allowed yet"
    page_title = "Not yet possible"

    def __init__(self, trigger: str, problems: Sequence[FieldProblem]) -> None:
        self.trigger = trigger
        self.problems = list(problems)
        super().__init__(f"cannot {trigger}: " + "; ".join(str(p) for p in self.problems))


class IllegalTransition(DomainError):
    """A trigger that does not exist, or is not legal from the case's current state."""

    kind = "illegal-transition"
    status = 409
    title = "Illegal transition"
    page_title = "Not possible now"

    def __init__(self, trigger: str, state: str, legal: Sequence[str]) -> None:
        self.trigger = trigger
        self.state = state
        self.legal = list(legal)
        names = ", ".join(self.legal) if self.legal else "none (the case is finished)"
        super().__init__(f"cannot {trigger} a case that is {state}; legal from {state}: {names}")


class Conflict(DomainError):
    """Someone else changed the case between our read and our write: nothing was written."""

    kind = "conflict"
    status = 409
    title = "Case changed under you"
    page_title = "Changed by someone else"

    def __init__(self, reference: str, current_version: int, current_state: str) -> None:
        self.reference = reference
        self.current_version = current_version
        self.current_state = current_state
        super().__init__(
            f"{reference} was changed by someone else; it is now {current_state} at version "
            f"{current_version}. Reload it and try again; nothing was saved."
        )


class StaleVersion(Conflict):
    """The caller acted on a version it read earlier that is no longer current."""

    kind = "stale-version"
    status = 412
    title = "Precondition failed"

    def __init__(self, reference: str, expected: int, current_version: int, current_state: str) -> None:
        super().__init__(reference, current_version, current_state)
        self.expected = expected
        self.detail = (
            f"{reference} was changed by someone else: it is at version {current_version} "
            f"({current_state}), not {expected}; reload it and try again; nothing was saved."
        )
        self.args = (self.detail,)


class Settled(DomainError):
    """The thing acted on is already finished (e.g. an escalation that is resolved)."""

    kind = "already-settled"
    status = 409
    title = "Already settled"
    page_title = "Already settled"


class AlreadyExists(DomainError):
    kind = "already-exists"
    status = 409
    title = "Already exists"
    page_title = "Already exists"


class KeyInFlight(DomainError):
    """The first request with this idempotency key has not finished yet."""

    kind = "request-in-progress"
    status = 409
    title = "Request already in progress"


class FileProblems(DomainError):
    """A file with problems, one `lines` entry each, each naming where (file, line or row, column)."""

    status = 422
    # What the count is of, e.g. "error(s) in the rule files" (the CLI's summary line).
    counted = "problem(s)"

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__(f"{len(self.lines)} {self.counted}:\n" + "\n".join(self.lines))


class RulesInvalid(FileProblems):
    """A candidate ruleset that does not load; `lines` are `file:line:col: field: message` strings."""

    kind = "rules-invalid"
    title = "Rule files have errors"
    page_title = "The rule files have errors"
    counted = "error(s) in the rule files"


class ImportRejected(FileProblems):
    """A bulk import file (or its column mapping) with problems; `lines` are
    `file:sheet:row:column: message` (or `file:line:col: field: message` for the mapping). Nothing was
    written."""

    kind = "import-invalid"
    title = "Import file has errors"
    page_title = "The file has errors; nothing was imported"
    counted = "problem(s); nothing imported"


class StrategyInvalid(RulesInvalid):
    """A candidate Control Strategy that does not load (`file:line:col: field: message` lines)."""

    kind = "strategy-invalid"
    title = "Strategy file has errors"
    page_title = "The strategy file has errors"
    counted = "error(s) in the strategy file"


class CapacityFileInvalid(DomainError):
    """A capacity file that does not load; `lines` are `file:line:col: field: message` strings."""

    kind = "capacity-file-invalid"
    status = 422
    title = "Capacity file has errors"

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__(f"{len(self.lines)} error(s) in the capacity file:\n" + "\n".join(self.lines))


def problems_of(exc: DomainError) -> list[FieldProblem]:
    """The field problems an error carries (for showing each beside its field)."""
    if isinstance(exc, InvalidInput | GuardFailed):
        return list(exc.problems)
    return []


class TooLittleHistory(DomainError):
    """A forecast asked of a log too short to say anything about next year (#16: under 8 weeks)."""

    kind = "too-little-history"
    # The log, not the request, is short: 409 (the state of the data), where a 422 would have to name a
    # field the caller got wrong.
    status = 409
    title = "Too little history to forecast"
    page_title = "Not enough history yet"

    def __init__(self, weeks: int, needed: int) -> None:
        super().__init__(
            f"the log holds {weeks} complete week{'s' if weeks != 1 else ''} of requests; a forecast needs "
            f"at least {needed} (a line fitted through fewer weeks would be noise, so none is given)"
        )
        self.weeks = weeks
        self.needed = needed
