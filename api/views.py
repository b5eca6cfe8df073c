"""What the API shows of each row: plain dicts built by hand (the hot paths skip response-model
validation), with pydantic models beside them only to document the shapes in the OpenAPI schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from workflow import access
from workflow.access import Principal
from workflow.change import CaseRecord
from workflow.models import Assessment, Case, CaseEvent, CaseRead, Decision, Hub, Refusal, Unit, User

CASES = "/api/v1/cases"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


class Json(JSONResponse):
    """JSON with timestamps as ISO 8601 UTC (Z), and UTF-8 as is rather than \\u-escaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_default, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )


def etag(version: int) -> str:
    return f'"{version}"'


def case_summary(c: Case | CaseRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "reference": c.reference,
        "title": c.title,
        "state": c.state,
        "version": c.version,
        "protective_marking": c.protective_marking,
        "requesting_unit": c.requesting_unit,
        "target_type": c.target_type,
        "target_name": c.target_name,
        "themes": c.themes,
        "capabilities": c.capabilities,
        "hub": c.hub,
        "team": c.team,
        "owner": c.owner,
        "band": c.band,
        "risk": c.risk,
        "escalation_level": c.escalation_level,
        "sla_due_at": c.sla_due_at,
        "review_due_at": c.review_due_at,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "links": {"self": f"{CASES}/{c.id}"},
    }


def assessment_view(a: Assessment) -> dict[str, Any]:
    return {
        "seq": a.seq,
        "event_seq": a.event_seq,
        "band": a.band,
        "risk": a.risk,
        "harm_total": a.harm_total,
        "likelihood_total": a.likelihood_total,
        "confidence": a.confidence,
        "org_grade": a.org_grade,
        "floor_applied": a.floor_applied,
        "response_level": a.response_level,
        "matrix": {
            "id": a.matrix_id,
            "version": a.matrix_version,
            # Scores made with the shipped placeholder matrix must say so wherever they are shown.
            "placeholder": bool(a.result.get("placeholder", False)),
        },
        "inputs": a.inputs,
        "scores": a.result,
        "rationale": a.rationale,
        "assessor": a.assessor,
        "created_at": a.created_at,
        "links": {"self": f"{CASES}/{a.case_id}/assessments/{a.seq}"},
    }


def _latest_assessment(a: Assessment) -> dict[str, Any]:
    full = assessment_view(a)
    return {
        k: full[k]
        for k in ("seq", "band", "risk", "matrix", "confidence", "org_grade", "assessor", "created_at")
    }


def decision_view(d: Decision) -> dict[str, Any]:
    record = d.decisions or {}
    trace = record.get("trace", [])
    return {
        "event_seq": d.event_seq,
        "ruleset_version": d.ruleset_version,
        "backend": d.backend,
        "hub": d.hub,
        "route_rule": d.route_rule,
        "escalation_level": d.escalation_level,
        "escalation": record.get("escalation"),
        "rules_fired": [t.get("rule") for t in trace if isinstance(t, dict)],
        "trace": trace,
        "created_at": d.created_at,
    }


def case_detail(
    c: Case | CaseRecord,
    who: Principal,
    assessments: Sequence[Assessment] = (),
    decisions: Sequence[Decision] = (),
) -> dict[str, Any]:
    body = case_summary(c)
    body.update(
        {
            "summary": c.summary,
            "tags": c.tags,
            "outcome": c.outcome,
            "ruleset_version": c.ruleset_version,
            "created_by": c.created_by,
            "sla": {
                "stage": c.sla_stage,
                "due_at": c.sla_due_at,
                "awaiting_since": c.awaiting_since,
                "awaiting_reason": c.awaiting_reason,
            },
            # Put off by the tasking meeting (story 4); null once the case is decided.
            "deferred": (
                {"at": c.deferred_at, "reason": c.deferred_reason} if c.deferred_at is not None else None
            ),
            "assessment": _latest_assessment(assessments[-1]) if assessments else None,
            "assessment_count": len(assessments),
            "decisions": [decision_view(d) for d in decisions],
            "legal_triggers": access.allowed_triggers(who, access.case_facts(c)),
        }
    )
    body["links"] = {
        "self": f"{CASES}/{c.id}",
        "events": f"{CASES}/{c.id}/events",
        "assessments": f"{CASES}/{c.id}/assessments",
        "transitions": f"{CASES}/{c.id}/transitions/{{trigger}}",
    }
    return body


def event_view(e: CaseEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "trigger": e.trigger,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": e.actor,
        "reason": e.reason,
        "payload": e.payload,
        "created_at": e.created_at,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def user_view(u: User) -> dict[str, Any]:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "roles": u.roles,
        "unit_code": u.unit_code,
        "hub_code": u.hub_code,
        "clearance": u.clearance,
        "active": u.active,
        "has_password": u.password_hash is not None,
        "created_at": u.created_at,
    }


def unit_view(u: Unit) -> dict[str, Any]:
    return {"code": u.code, "name": u.name, "kind": u.kind, "boroughs": u.boroughs, "active": u.active}


def hub_view(h: Hub) -> dict[str, Any]:
    return {"code": h.code, "name": h.name, "capacity": h.capacity, "active": h.active}


def read_view(r: CaseRead) -> dict[str, Any]:
    return {"id": r.id, "case_id": r.case_id, "username": r.username, "what": r.what, "read_at": r.read_at}


def refusal_view(r: Refusal) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": r.at,
        "username": r.username,
        "action": r.action,
        "case_id": r.case_id,
        "kind": r.kind,
        "detail": r.detail,
    }


# -- documentation-only shapes --------------------------------------------------------------------------


class MatrixOut(BaseModel):
    id: str
    version: str
    placeholder: bool


class AssessmentSummaryOut(BaseModel):
    seq: int
    band: str
    risk: float
    matrix: MatrixOut
    confidence: str
    org_grade: str
    assessor: str
    created_at: datetime


class AssessmentOut(AssessmentSummaryOut):
    event_seq: int
    harm_total: float
    likelihood_total: float
    floor_applied: bool
    response_level: str
    inputs: dict[str, Any]
    scores: dict[str, Any]
    rationale: str | None
    links: dict[str, str]


class AssessmentCreated(AssessmentOut):
    case: dict[str, Any]


class DecisionOut(BaseModel):
    event_seq: int
    ruleset_version: str
    backend: str
    hub: str | None
    route_rule: str | None
    escalation_level: int
    escalation: dict[str, Any] | None
    rules_fired: list[str]
    trace: list[dict[str, Any]]
    created_at: datetime


class CaseSummaryOut(BaseModel):
    id: int
    reference: str
    title: str
    state: str
    version: int
    protective_marking: str
    requesting_unit: str
    target_type: str
    target_name: str
    themes: list[str]
    capabilities: list[str]
    hub: str | None
    team: str | None
    owner: str | None
    band: str | None
    risk: float | None
    escalation_level: int
    sla_due_at: datetime | None
    review_due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    links: dict[str, str]


class DeferredOut(BaseModel):
    at: datetime
    reason: str | None


class CaseOut(CaseSummaryOut):
    summary: str
    tags: list[str]
    outcome: str | None
    ruleset_version: str | None
    created_by: str
    sla: dict[str, Any]
    deferred: DeferredOut | None = Field(description="put off by the tasking meeting; null once decided")
    assessment: AssessmentSummaryOut | None
    assessment_count: int
    decisions: list[DecisionOut]
    legal_triggers: list[str]


class CasePage(BaseModel):
    items: list[CaseSummaryOut]
    next_cursor: str | None


class EventOut(BaseModel):
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None
    payload: dict[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    unit_code: str | None
    hub_code: str | None
    clearance: str
    active: bool
    has_password: bool
    created_at: datetime


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    boroughs: list[str]
    active: bool


class HubOut(BaseModel):
    code: str
    name: str
    capacity: int
    active: bool


class ReadOut(BaseModel):
    id: int
    case_id: int
    username: str
    what: str
    read_at: datetime


class ReadPage(BaseModel):
    items: list[ReadOut]
    next_cursor: int | None


class RefusalOut(BaseModel):
    id: int
    at: datetime
    username: str
    action: str = Field(
        description="fire:<trigger>, submit, score:<trigger>, read:<part>, or an escalation action"
    )
    case_id: int | None
    kind: str = Field(description="not-visible (answered as not found) | forbidden")
    detail: str


class RefusalPage(BaseModel):
    items: list[RefusalOut]
    next_cursor: int | None


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class MeOut(BaseModel):
    username: str
    roles: list[str]
    unit_code: str | None
    hub_code: str | None
    clearance: str
    sees_all_cases: bool
