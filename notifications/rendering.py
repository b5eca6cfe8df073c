"""Render notification messages (subject, plain text, HTML) from sandboxed Jinja2 templates.

Every event kind has three templates in ``notifications/templates/``: ``<kind>.subject.txt``,
``<kind>.txt`` and ``<kind>.html``. Bodies extend ``_layout.txt`` / ``_layout.html``, which put the
protective marking at the top and bottom of every body; :meth:`Renderer.render` prefixes the subject with
it in code, so no template can forget it. Both environments are sandboxed (templates may one day be
edited by admins) and use ``StrictUndefined`` (a missing variable is an error, never an empty string);
only the HTML environment autoescapes. The rendered subject and text are also what the in-app inbox stores.

Context contract (the caller, i.e. the outbox worker, builds it from case rows and events):

Required for every kind:
    recipient: {username, display_name}
    case: {id, reference, title, protective_marking ("OFFICIAL" | "OFFICIAL-SENSITIVE"),
           state, band (e.g. "P1"), risk (0-100), hub (name or None), owner (display name or None),
           capability (MoRiLE capability grade, e.g. "D")}
        -- ``id``, ``reference``, ``title`` and ``protective_marking`` are used by every kind; the other
           case fields only where a kind's body mentions them (listed below).
    base_url: str -- the web app's root; the case page is ``{base_url}/cases/{case.id}``.

Per kind (``event`` is {trigger, actor, reason (optional), at, from_state, to_state}):
    case_submitted          case.hub; due_at (assessment due by)
    case_escalated          case.band, case.risk, case.capability, case.hub, case.state;
                            event.actor, event.at, event.reason (optional);
                            why: [rule names]; escalation: {decision} (e.g. "regional support decision");
                            due_at (acknowledge by)
    review_reminder         case.band, case.owner; due_at; days_remaining (int, 0 = due today)
    review_overdue          case.band, case.owner; due_at; days_overdue (int, >= 1)
    sla_breached            case.band, case.state, case.owner; sla: {stage} (e.g. "assessment");
                            due_at (the target that passed); why (optional)
    escalation_acknowledged case.band; event.actor, event.at, event.reason (optional: the supervisor's note)
    case_tasked             case.band, case.hub; event.actor; due_at (first review)
    case_state_changed      event.trigger, event.actor, event.at, event.from_state, event.to_state,
                            event.reason (optional); moved: {from_hub, to_hub} (optional: a transfer),
                            with case.owner

Dates (``due_at``, ``event.at``) are timezone-aware ``datetime`` objects or ISO 8601 strings with an
offset (as they come back from a JSON outbox payload); they are shown in the centre's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from workflow import localtime, spoofing

TEMPLATE_DIR = Path(__file__).with_name("templates")
DEFAULT_TIMEZONE = localtime.ZONE_NAME
MARKINGS = ("OFFICIAL", "OFFICIAL-SENSITIVE")
KINDS = frozenset(
    {
        "case_submitted",
        "case_escalated",
        "review_reminder",
        "review_overdue",
        "sla_breached",
        "escalation_acknowledged",
        "case_tasked",
        "case_state_changed",
    }
)

_SUBJECT_SUFFIX = ".subject.txt"
_WHITESPACE = re.compile(r"\s+")


class RenderError(Exception):
    """A message could not be rendered; retrying will not help (the context or a template is wrong)."""


class UnknownMessageKind(RenderError, LookupError):
    def __init__(self, kind: str, known: frozenset[str]) -> None:
        known_list = ", ".join(sorted(known))
        super().__init__(f"no templates for notification kind {kind!r}; known kinds: {known_list}")
        self.kind = kind


class TemplateContextError(RenderError):
    """The context lacks a variable a template needs, or holds a value it cannot show."""


class TemplateSecurityError(RenderError):
    """A template tried something the sandbox forbids (e.g. reaching ``__class__``)."""


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


class Renderer:
    """Renders the templates of one directory; kinds are the names that have all three templates."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR, *, timezone: str = DEFAULT_TIMEZONE) -> None:
        self._zone = ZoneInfo(timezone)
        loader = FileSystemLoader(template_dir)
        self._text = self._environment(loader, autoescape=False)
        self._html = self._environment(loader, autoescape=True)
        names = set(loader.list_templates())
        self.kinds = frozenset(
            name.removesuffix(_SUBJECT_SUFFIX)
            for name in names
            if name.endswith(_SUBJECT_SUFFIX)
            and {name.replace(_SUBJECT_SUFFIX, ".txt"), name.replace(_SUBJECT_SUFFIX, ".html")} <= names
        )

    def _environment(self, loader: FileSystemLoader, *, autoescape: bool) -> SandboxedEnvironment:
        env = SandboxedEnvironment(
            loader=loader,
            autoescape=autoescape,
            finalize=spoofing.shown,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["when"] = self._format_when
        env.filters["day"] = self._format_day
        return env

    def render(self, kind: str, context: Mapping[str, Any]) -> RenderedMessage:
        if kind not in self.kinds:
            raise UnknownMessageKind(kind, self.kinds)
        values = _prepare(context)
        try:
            subject_line = _one_line(self._text.get_template(kind + _SUBJECT_SUFFIX).render(values))
            subject = f"[{values['marking']}] {subject_line}"
            text = self._text.get_template(f"{kind}.txt").render(values, subject=subject).strip() + "\n"
            html = self._html.get_template(f"{kind}.html").render(values, subject=subject)
        except SecurityError as exc:
            raise TemplateSecurityError(f"{kind}: {exc}") from exc
        except UndefinedError as exc:
            raise TemplateContextError(f"{kind}: missing context variable: {exc}") from exc
        except TemplateError as exc:
            raise RenderError(f"{kind}: {exc}") from exc
        return RenderedMessage(subject=subject, text=text, html=html)

    def _format_when(self, value: Any) -> str:
        return localtime.moment(_as_datetime(value), self._zone)

    def _format_day(self, value: Any) -> str:
        if isinstance(value, date) and not isinstance(value, datetime):
            return localtime.day(value)
        return localtime.day(_as_datetime(value), self._zone)


def _prepare(context: Mapping[str, Any]) -> dict[str, Any]:
    """Check what every template relies on and derive the marking and the case link from it."""
    for key in ("recipient", "case", "base_url"):
        if key not in context:
            raise TemplateContextError(f"missing context variable {key!r}")
    case = context["case"]
    missing = [key for key in ("id", "reference", "title", "protective_marking") if key not in case]
    if missing:
        raise TemplateContextError(f"case lacks {', '.join(missing)}")
    # Accept a StrEnum-like marking from workflow/ as well as a plain string.
    marking = str(getattr(case["protective_marking"], "value", case["protective_marking"]))
    if marking not in MARKINGS:
        # Never label a message with a marking we do not recognise: a wrong marking is a handling error.
        raise TemplateContextError(f"unknown protective marking {marking!r}; expected one of {MARKINGS}")
    values = dict(context)
    values["marking"] = marking
    values["case_url"] = f"{str(context['base_url']).rstrip('/')}/cases/{case['id']}"
    return values


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise TemplateContextError(f"not an ISO 8601 date-time: {value!r}") from exc
    if not isinstance(value, datetime):
        raise TemplateContextError(f"expected a date-time, got {type(value).__name__}")
    if value.tzinfo is None:
        # A naive time is ambiguous across the BST change; refuse rather than guess.
        raise TemplateContextError(f"date-time without a time zone: {value.isoformat()}")
    return value


def _one_line(subject: str) -> str:
    # Mail headers and inbox rows are single lines; a title with newlines must not break them.
    return _WHITESPACE.sub(" ", subject).strip()


@lru_cache(maxsize=1)
def default_renderer() -> Renderer:
    return Renderer()


def render_message(kind: str, context: Mapping[str, Any]) -> RenderedMessage:
    """Render ``kind`` with the shipped templates; see the module docstring for the context contract."""
    return default_renderer().render(kind, context)
