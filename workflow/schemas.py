"""Validated inputs of the service functions (table models do not validate, so these do).

The API and the CLI hand raw dicts to the service, which validates them here; every problem comes back
at once as an InvalidInput naming the field, never as a half-written case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from workflow import blobs, spoofing
from workflow.errors import FieldProblem, InvalidInput
from workflow.states import OUTCOMES, STRANDS_4P

MARKINGS = ("OFFICIAL", "OFFICIAL-SENSITIVE")
MAX_MINUTES = 24 * 60
# Control characters (NUL above all) are refused: PostgreSQL rejects NUL in text, and none of them
# belongs in a case record. Tabs and line breaks stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_ONE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_spoofing(value: str) -> str:
    """Refuse characters that would make the text show other than it reads (workflow/spoofing.py)."""
    hidden = spoofing.found(value)
    if hidden:
        raise ValueError(
            "contains invisible or direction-changing characters that could disguise what it says "
            f"({', '.join(hidden)}): retype it without them"
        )
    return value


def _clean(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return _no_spoofing(value)


def _one_line(value: str) -> str:
    """For names, codes and passwords: no control characters at all, line breaks included."""
    if _ONE_LINE_CONTROL.search(value):
        raise ValueError("contains control characters")
    return _no_spoofing(value)


OneLine = Annotated[str, AfterValidator(_one_line)]


# Strings of bounded length with no control characters (lengths are checked first: clearer errors).
_NoControl = AfterValidator(_clean)
Title = Annotated[str, StringConstraints(min_length=3, max_length=200), _NoControl]
Summary = Annotated[str, StringConstraints(min_length=1, max_length=20000), _NoControl]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), _NoControl]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64), _NoControl]
Note = Annotated[str, StringConstraints(max_length=4000), _NoControl]
Team = Annotated[str, StringConstraints(max_length=64), _NoControl]
Progress = Annotated[str, StringConstraints(max_length=20000), _NoControl]


Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class CaseRequest(BaseModel):
    """What a requester fills in (story 1)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    summary: Summary
    requesting_unit: Code
    target_type: Code
    target_name: Name
    themes: Annotated[list[Code], Field(min_length=1, max_length=20)]
    capabilities: Annotated[list[Code], Field(min_length=1, max_length=20)]
    tags: Annotated[list[Tag], Field(max_length=20)] = []
    # Other names the target goes by (an OCG's other names, a nominal's aliases and nicknames) and
    # places tied to it: deconfliction matches them too (workflow/deconfliction). Optional, bounded.
    target_aliases: Annotated[list[Name], Field(max_length=10)] = []
    target_locations: Annotated[list[Name], Field(max_length=10)] = []
    protective_marking: Literal["OFFICIAL", "OFFICIAL-SENSITIVE"] = "OFFICIAL"


# A case log note (workflow/notes.py): bounded, like every free text here.
NoteText = Annotated[str, StringConstraints(min_length=1, max_length=8000), _NoControl]
Marking = Literal["OFFICIAL", "OFFICIAL-SENSITIVE"]


class AttachmentRef(BaseModel):
    """A stored file an `attach` event references (workflow/blobs.py put it in the store first)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    # Cleaned, not refused: a name arrives from the uploader's machine and is only shown, never used.
    name: Annotated[str, StringConstraints(max_length=1000), AfterValidator(blobs.safe_name)]
    size: Annotated[int, Field(ge=1)]
    media_type: Annotated[str, Field(max_length=200)]
    marking: Marking


class TransitionInput(BaseModel):
    """Everything any trigger may carry; which fields a trigger accepts is in its definition
    (`workflow.lifecycle.TRIGGER_FIELDS`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Note | None = None
    hub: Code | None = None
    team: Team | None = None
    owner: Code | None = None
    outcome: Literal[OUTCOMES] | None = None  # type: ignore[valid-type]
    strands: Annotated[list[Literal[STRANDS_4P]], Field(max_length=4)] = []  # type: ignore[valid-type]
    progress: Progress | None = None
    assessment: dict[str, Any] | None = None
    rationale: Note | None = None
    note: NoteText | None = None
    note_marking: Marking | None = None
    attachment: AttachmentRef | None = None
    # Minutes a person spent on this step (assess, rescore, review, prioritise, task): the FBC staffing
    # model's measured effort. Optional and never guessed; a day at most, so a typo cannot skew it.
    minutes: Annotated[int, Field(gt=0, le=MAX_MINUTES)] | None = None
    # A retention decision to retain: when the case is next reviewed.
    next_review: date | None = None
    # Task (or transfer) into a hub with no free capacity for what the case asks (workflow.capacity).
    override: bool | None = None
    # Deconfliction (confirm_link, dismiss_link): which candidate link, and on confirming, the lead case.
    link: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    lead_case: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Mapping[str, Any] | None, *, prefix: str = "") -> M:
    """Validate `data` into `model`, or raise InvalidInput listing every field problem."""
    try:
        return model.model_validate(dict(data or {}))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = ".".join(str(p) for p in err["loc"]) or "body"
            message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(FieldProblem(prefix + path, message))
        raise InvalidInput(problems) from None
