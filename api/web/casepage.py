"""What the case page shows and the forms on it: the MoRiLE assessment and one form per legal action.

Kept apart from the routes so the page can be rebuilt the same way after a successful action, a refused
one (with the user's values and the errors beside their fields) or a conflict (with the current state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session
from starlette.datastructures import FormData

from api.views import decision_view
from api.web.core import text, texts
from api.web.records_panel import records_context
from api.web.rows import row
from notifications.case_deliveries import deliveries_of
from rules import Matrix
from workflow import access, accounts, audit, capacity, notes, queries, reference, triggers
from workflow.access import Principal
from workflow.db import utcnow
from workflow.deconfliction import need_to_know
from workflow.lifecycle import OUTCOMES, STRANDS_4P, LiveMap, LiveTuple
from workflow.models import Case, CaseEvent
from workflow.reads import CaseView
from workflow.reads import case as case_reads
from workflow.reads import links as link_reads
from workflow.rulebook import active_rulebook


def _assessing() -> tuple[str, ...]:
    return tuple(s.name for s in triggers.fireable() if s.page.form == "assessment")


def _labels() -> dict[str, str]:
    return {s.name: s.page.label for s in triggers.REGISTRY.values()}


def _link_forms() -> tuple[str, ...]:
    return tuple(s.name for s in triggers.fireable() if s.page.form == "link")


def _action_fields() -> dict[str, tuple[str, ...]]:
    return {s.name: s.page.fields for s in triggers.fireable()}


# Everything the page shows of a trigger comes from its definition (workflow/triggers.py).
RECORDS: Sequence[str] = LiveTuple(
    lambda: tuple(s.name for s in triggers.fireable() if s.page.form == "records")
)
ASSESSING: Sequence[str] = LiveTuple(_assessing)  # triggers scored on the MoRiLE form, not an action form
LABELS: Mapping[str, str] = LiveMap(_labels)
ACTION_FIELDS: Mapping[str, tuple[str, ...]] = LiveMap(_action_fields)
LINK_FORMS: Sequence[str] = LiveTuple(_link_forms)  # one form per candidate link, not one per case


def required_fields(trigger: str) -> frozenset[str]:
    """Fields a trigger cannot do without (marked as required on its form)."""
    spec = triggers.spec(trigger)
    return spec.required if spec is not None else frozenset()


def confirmation(trigger: str, reference: str) -> str:
    """What the page says once the trigger is done: the action, then what happened to which case."""
    spec = triggers.spec(trigger)
    if spec is None:
        return ""
    return f"Done: {spec.page.label}. {spec.page.confirm.format(reference=reference)}"


def reason_label(trigger: str) -> str:
    spec = triggers.spec(trigger)
    return spec.page.reason_label if spec is not None else "Reason"


@dataclass
class ActionForm:
    trigger: str
    label: str
    fields: tuple[str, ...]
    required: frozenset[str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    open: bool = False  # shown expanded (it was just submitted and refused)

    @property
    def reason_label(self) -> str:
        return reason_label(self.trigger)


@dataclass
class AssessForm:
    trigger: str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    preview: dict[str, Any] | None = None


def action_values(trigger: str, form: FormData) -> dict[str, Any]:
    """The posted fields of `trigger`'s form, as the service takes them (blank fields left out)."""
    data: dict[str, Any] = {}
    for name in ACTION_FIELDS.get(trigger, ()):
        if name == "strands":
            chosen = texts(form, "strands")
            if chosen:
                data[name] = chosen
        else:
            value = text(form, name)
            if value:
                data[name] = value
    return data


# -- MoRiLE ----------------------------------------------------------------------------------------------

INTELLIGENCE_KEYS = ("source", "grade", "handling")


def assessment_form_values(form: FormData) -> dict[str, str]:
    return {
        k: v.strip()
        for k, v in form.multi_items()
        if isinstance(v, str) and (k.startswith("assessment.") or k in ("rationale", "reason", "minutes"))
    }


def assessment_inputs(values: Mapping[str, str], matrix: Matrix) -> dict[str, Any]:
    """MoRiLE inputs from the form's strings: numbers where they parse, the raw text where they do not
    (so the scorer names the field), and blank fields left out (so it says they are missing)."""

    def number(name: str) -> int | str | None:
        raw = values.get(name, "")
        if raw == "":
            return None
        return int(raw) if raw.lstrip("-").isdigit() else raw

    inputs: dict[str, Any] = {}
    harm = {d: number(f"assessment.harm.{d}") for d in matrix.dimensions}
    inputs["harm"] = {d: v for d, v in harm.items() if v is not None}
    for name in ("scope", "likelihood", "vulnerability", "capacity", "capability"):
        value = number(f"assessment.{name}")
        if value is not None:
            inputs[name] = value
    intel = {k: values.get(f"assessment.intelligence.{k}", "") for k in INTELLIGENCE_KEYS}
    if any(intel.values()):
        inputs["intelligence"] = {k: v for k, v in intel.items() if v}
    if values.get("assessment.confidence"):
        inputs["confidence"] = values["assessment.confidence"]
    if values.get("assessment.confidence_reason"):
        inputs["confidence_reason"] = values["assessment.confidence_reason"]
    return inputs


def values_from_inputs(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Form values from stored MoRiLE inputs (a re-score starts from the latest assessment)."""
    out: dict[str, str] = {}
    for key, value in inputs.items():
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                out[f"assessment.{key}.{sub}"] = str(inner)
        elif value is not None:
            out[f"assessment.{key}"] = str(value)
    return out


def matrix_of(session: Session) -> Matrix:
    return active_rulebook(session).matrix


def score_preview(
    session: Session, values: Mapping[str, str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Score the form without storing anything: (breakdown, errors by field)."""
    from workflow.errors import InvalidInput

    book = active_rulebook(session)
    try:
        scored = book.score(assessment_inputs(values, book.matrix))
    except InvalidInput as exc:
        return None, {p.field: p.message for p in exc.problems}
    return scored.payload, {}


# -- the page ----------------------------------------------------------------------------------------------


def event_summary(e: CaseEvent) -> str:
    """One line saying what an event did, beyond its trigger and states."""
    p = e.payload or {}
    if e.trigger in notes.TRIGGERS:
        return notes.summary(e.trigger, p)
    if "assessment" in p:
        s = p["assessment"].get("score", {})
        return f"band {s.get('band')} ({s.get('band_label')}), risk {s.get('risk')}/100"
    parts = []
    for key in ("hub", "owner", "team", "outcome", "progress", "until"):
        if p.get(key):
            parts.append(f"{key.replace('_', ' ')}: {p[key]}")
    if p.get("strands"):
        parts.append("4P: " + ", ".join(p["strands"]))
    if "escalation" in p and isinstance(p["escalation"], Mapping):
        esc = p["escalation"]
        parts.append(f"escalated to {esc.get('level_name')}: {esc.get('reason')}")
    elif "level" in p and e.trigger.startswith("escalation"):
        parts.append(f"escalation level {p['level']}")
    return "; ".join(parts)


def case_context(
    session: Session,
    who: Principal,
    view: CaseView,
    *,
    forms: Mapping[str, ActionForm] | None = None,
    assess: AssessForm | None = None,
) -> dict[str, Any]:
    case: Case = view.case
    assert case.id is not None
    now = utcnow()
    allowed = access.allowed_triggers(who, access.case_facts(case))
    matrix = matrix_of(session)
    actions: list[ActionForm] = []
    assess_form: AssessForm | None = None
    link_forms = {t: f for t, f in (forms or {}).items() if t in LINK_FORMS}
    for trigger in allowed:
        # The notes and attachments panel (_records.html) has their forms; the links section
        # (_case_links.html) one form per link.
        if trigger in RECORDS or trigger in LINK_FORMS:
            continue
        if trigger in ASSESSING:
            if assess is not None and assess.trigger == trigger:
                assess_form = assess
            else:
                start = values_from_inputs(view.assessments[-1].inputs) if view.assessments else {}
                assess_form = AssessForm(trigger, start)
            continue
        given = (forms or {}).get(trigger)
        actions.append(
            given
            or ActionForm(
                trigger,
                LABELS.get(trigger, trigger),
                ACTION_FIELDS.get(trigger, ()),
                required_fields(trigger),
                values={"hub": case.hub or ""} if trigger == "task" else {},
            )
        )
    # Only owners who could see the case are offered (the service also holds them to the hub's own).
    staff = [
        u
        for u in accounts.list_users(session)
        if u.active
        and "case_owner" in u.roles
        and access.covers(accounts.principal_of(u), case.protective_marking)
    ]
    hubs = [h for h in reference.list_hubs(session) if h.active]
    timers = case_reads.pending_timers(session, case_id=case.id)
    escalations = case_reads.escalations_of(session, case_id=case.id)
    deliveries = deliveries_of(session, case_id=case.id)
    # Notes above the reader's clearance show that they exist; a requester reads link decisions only as
    # "the centre is co-ordinating this request".
    history = notes.masked_events(queries.history(session, case_id=case.id), who)
    events: Sequence[CaseEvent] = need_to_know.shown_events(who, history)
    chain = audit.case_chain_status(session, case_id=case.id)
    return {
        "title": f"{case.reference} {case.title}",
        "case": case,
        "row": row(case, now),
        "assessments": list(reversed(view.assessments)),
        "latest": view.assessments[-1] if view.assessments else None,
        "decisions": [decision_view(d) for d in reversed(view.decisions)],
        "events": list(reversed(events)),
        "chain": chain,
        "event_summary": event_summary,
        "timers": timers,
        "escalations": escalations,
        "deliveries": deliveries,
        "actions": actions,
        "assess": assess_form,
        "matrix": matrix,
        "staff": staff,
        "hubs": hubs,
        "teams": capacity.teams(session),
        "outcomes": OUTCOMES,
        "strands": STRANDS_4P,
        "may_escalate": who.has("supervisor"),
        **records_context(session, who, case),
        "links": link_reads.links_of(session, who=who, case_id=case.id, log=False),
        "link_forms": link_forms,
    }
