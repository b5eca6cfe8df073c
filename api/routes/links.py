"""Deconfliction in the API: a case's candidate and confirmed links. Deciding one is a trigger like any
other: POST /api/v1/cases/{id}/transitions/confirm_link (or dismiss_link) with {"link": id, "reason":
...} and If-Match, which writes the event on both cases."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import SessionDep, Who
from api.problems import problem_responses
from api.routes.cases import CaseId
from api.views import CASES, Json
from workflow.reads import links as link_reads

router = APIRouter(prefix=CASES, tags=["deconfliction"])


class LinkOut(BaseModel):
    id: int
    status: str = Field(description="candidate | confirmed | dismissed")
    score: float
    reasons: list[dict[str, Any]] = Field(
        description="each pair of names that matched: field, name, normalised, other_field, other_name, "
        "other_normalised (absent where you may not see the other case), algorithm, score"
    )
    other: link_reads.OtherCase | None = Field(description="null: a case outside your view")
    raised_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    lead_case_id: int | None
    coordinating_hub: str | None
    may_decide: bool


class CaseLinksOut(BaseModel):
    case_id: int
    coordinated: bool = Field(description="a confirmed link exists")
    note: str | None = Field(description="what a requester is told, instead of the links")
    names: list[str] = Field(description="the target's other names and places, as requested")
    links: list[LinkOut]


@router.get(
    "/{case_id}/links",
    response_model=CaseLinksOut,
    responses=problem_responses(401, 404, 422),
    summary="Deconfliction: the case's links to other work (a requester is told only of co-ordination)",
)
def links(session: SessionDep, who: Who, case_id: CaseId) -> Json:
    found = link_reads.links_of(session, who=who, case_id=case_id)
    return Json(
        {
            "case_id": found.case_id,
            "coordinated": found.coordinated,
            "note": found.note,
            "names": list(found.names),
            "links": [dataclasses.asdict(v) for v in found.links],
        }
    )
