"""Escalations (story 3): supervisors list what waits for them and acknowledge, snooze or resolve it.

An escalation is visible exactly when its case is (the same SQL clause), so ids of escalations on cases
the caller may not see answer 404 like ids that do not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, Who, WriteSession
from api.problems import problem_responses
from api.views import Json
from workflow import escalations, reads
from workflow.access import Forbidden, Principal
from workflow.models import Case, Escalation
from workflow.reads import escalations as reads_escalations
from workflow.reads.escalations import CaseBrief
from workflow.schemas import Note

router = APIRouter(prefix="/api/v1/escalations", tags=["escalations"])
EscalationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def supervisor(who: Who) -> Principal:
    if not who.has("supervisor"):
        raise Forbidden("escalations are handled by supervisors", needed=["supervisor"])
    return who


Supervisor = Annotated[Principal, Depends(supervisor)]


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: Note | None = Field(default=None, description="what you are doing about it (shown in the history)")


class Snooze(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    until: datetime = Field(
        description="when the ladder resumes, with a time zone (e.g. 2026-12-01T09:00:00Z)"
    )
    reason: Annotated[Note, Field(min_length=1)]


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Annotated[Note, Field(min_length=1)]


def _view(esc: Escalation, case: Case | CaseBrief) -> dict[str, Any]:
    return {
        "id": esc.id,
        "case": {
            "id": case.id,
            "reference": case.reference,
            "title": case.title,
            "band": case.band,
            "risk": case.risk,
            "hub": case.hub,
            "state": case.state,
        },
        "source": esc.source,
        "level": esc.level,
        "level_name": esc.level_name,
        "handler": esc.handler,
        "hub": esc.hub,
        "reason": esc.reason,
        "rules": esc.rules,
        "ruleset_version": esc.ruleset_version,
        "status": esc.status,
        "step": esc.step,
        "snoozes": esc.snoozes,
        "snoozed_until": esc.snoozed_until,
        "raised_at": esc.raised_at,
        "acknowledged_by": esc.acknowledged_by,
        "acknowledged_at": esc.acknowledged_at,
        "resolved_by": esc.resolved_by,
        "resolved_at": esc.resolved_at,
        "note": esc.note,
    }


@router.get(
    "",
    responses=problem_responses(401, 403, 422),
    summary="Escalations on cases you may see, most urgent first (level, band, next step due, age)",
)
def list_escalations(
    session: SessionDep,
    who: Supervisor,
    status: Literal["open", "acknowledged", "snoozed", "resolved"] | None = None,
    hub: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Json:
    found = reads_escalations.list_escalations(
        session, who=who, statuses=[status] if status else None, hub=hub, limit=limit
    )
    return Json({"items": [_view(item.escalation, item.case) for item in found]})


@router.get("/{escalation_id}", responses=problem_responses(401, 403, 404, 422))
def get_escalation(session: SessionDep, who: Supervisor, escalation_id: EscalationId) -> Json:
    return Json(_view(*reads.visible_escalation(session, who=who, escalation_id=escalation_id)))


def _after(session: SessionDep, who: Principal, escalation_id: int) -> Json:
    session.expire_all()
    return Json(_view(*reads.visible_escalation(session, who=who, escalation_id=escalation_id)))


@router.post("/{escalation_id}/acknowledge", responses=problem_responses(401, 403, 404, 409, 422))
def acknowledge(
    session: WriteSession,
    who: Supervisor,
    escalation_id: EscalationId,
    body: Acknowledge | None = None,
) -> Json:
    reads.visible_escalation(session, who=who, escalation_id=escalation_id)
    escalations.acknowledge(session, escalation_id=escalation_id, by=who, note=body.note if body else None)
    return _after(session, who, escalation_id)


@router.post("/{escalation_id}/snooze", responses=problem_responses(401, 403, 404, 409, 422))
def snooze(session: WriteSession, who: Supervisor, escalation_id: EscalationId, body: Snooze) -> Json:
    reads.visible_escalation(session, who=who, escalation_id=escalation_id)
    escalations.snooze(session, escalation_id=escalation_id, by=who, until=body.until, reason=body.reason)
    return _after(session, who, escalation_id)


@router.post("/{escalation_id}/resolve", responses=problem_responses(401, 403, 404, 409, 422))
def resolve(session: WriteSession, who: Supervisor, escalation_id: EscalationId, body: Resolve) -> Json:
    reads.visible_escalation(session, who=who, escalation_id=escalation_id)
    escalations.resolve(session, escalation_id=escalation_id, by=who, reason=body.reason)
    return _after(session, who, escalation_id)
