"""Cases: submit, list, read, assess and move them through the lifecycle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import IF_MATCH_REQUIRED, IfMatch, SessionDep, Who, WriteSession, parse_if_match
from api.problems import problem_responses
from api.views import (
    CASES,
    AssessmentCreated,
    AssessmentOut,
    CaseOut,
    CasePage,
    EventOut,
    Json,
    assessment_view,
    case_detail,
    case_summary,
    etag,
    event_view,
)
from workflow import queries, reads, service
from workflow.lifecycle import TRIGGERS, State
from workflow.schemas import CaseRequest as _CaseRequest
from workflow.schemas import Code, TransitionInput

router = APIRouter(prefix=CASES, tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the case's numeric id")]
# Printable text only: NUL and other control characters are refused before they reach a query.
SAFE = r"^[^\x00-\x1f\x7f]*$"
CODE = r"^[A-Za-z0-9_.\-]+$"


class CaseSubmission(_CaseRequest):
    """A new request (story 1). `requesting_unit` defaults to the requester's own unit."""

    requesting_unit: Code | None = None  # type: ignore[assignment]


class AssessmentInput(TransitionInput):
    """A MoRiLE assessment: the inputs, plus a rationale when the band falls and an optional reason."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "example": {
                "assessment": {
                    "harm": {
                        "physical": 3,
                        "psychological": 2,
                        "financial": 1,
                        "community": 2,
                        "environmental": 0,
                    },
                    "scope": 2,
                    "likelihood": 4,
                    "vulnerability": 2,
                    "capacity": 2,
                    "capability": 3,
                }
            }
        },
    )

    assessment: dict[str, Any] = Field(description="MoRiLE inputs (see the matrix in use)")


def _fields(model: Any) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True) if model is not None else {}


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    responses=problem_responses(401, 403, 409, 422),
    summary="Submit a request for specialist assets",
)
def submit(session: WriteSession, who: Who, body: CaseSubmission) -> Json:
    done = service.submit_case(session, request=_fields(body), by=who)
    return Json(
        case_detail(done.case, who, (), queries.decisions(session, case_id=done.case_id)),
        status_code=201,
        headers={"Location": f"{CASES}/{done.case_id}", "ETag": etag(done.version)},
    )


class CaseFilters(BaseModel):
    """The search's query parameters. Any other name is refused with a 422 naming it, never ignored."""

    model_config = ConfigDict(extra="forbid")

    state: State | None = None
    open: bool | None = Field(
        None, description="true: cases not yet closed, rejected or withdrawn; false: only those"
    )
    hub: Annotated[str | None, Field(max_length=16, pattern=CODE)] = None
    band: Annotated[str | None, Field(max_length=4, pattern=CODE)] = None
    unit: Annotated[str | None, Field(max_length=16, pattern=CODE)] = None
    owner: Annotated[str | None, Field(max_length=64, pattern=CODE)] = None
    theme: Annotated[
        str | None, Field(max_length=64, pattern=CODE, description="a theme code, e.g. knife_crime")
    ] = None
    capability: Annotated[
        str | None, Field(max_length=64, pattern=CODE, description="a capability code, e.g. surveillance")
    ] = None
    q: Annotated[
        str | None,
        Field(max_length=200, pattern=SAFE, description="words in the reference, title, summary or target"),
    ] = None
    sort: Literal[reads.SORT_CHOICES] = "-created_at"  # type: ignore[valid-type]
    cursor: Annotated[str | None, Field(max_length=512, description="next_cursor from the previous page")] = (
        None
    )
    limit: Annotated[int, Field(ge=1, le=200)] = 50


@router.get("", response_model=CasePage, responses=problem_responses(400, 401, 422), summary="Search cases")
def search(session: SessionDep, who: Who, filters: Annotated[CaseFilters, Query()]) -> Json:
    page = reads.search_cases(
        session,
        who=who,
        state=filters.state.value if filters.state else None,
        is_open=filters.open,
        hub=filters.hub,
        band=filters.band,
        unit=filters.unit,
        owner=filters.owner,
        theme=filters.theme,
        capability=filters.capability,
        q=filters.q,
        sort=filters.sort,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return Json({"items": [case_summary(c) for c in page.items], "next_cursor": page.next_cursor})


@router.get(
    "/{case_id}", response_model=CaseOut, responses=problem_responses(401, 404, 422), summary="One case"
)
def detail(session: SessionDep, who: Who, case_id: CaseId) -> Json:
    view = reads.read_case(session, who=who, case_id=case_id)
    return Json(
        case_detail(view.case, who, view.assessments, view.decisions),
        headers={"ETag": etag(view.case.version)},
    )


@router.get(
    "/{case_id}/events",
    response_model=list[EventOut],
    responses=problem_responses(401, 404, 422),
    summary="The case history, oldest first (hash-chained)",
)
def events(session: SessionDep, who: Who, case_id: CaseId) -> Json:
    return Json([event_view(e) for e in reads.read_events(session, who=who, case_id=case_id)])


@router.get(
    "/{case_id}/assessments",
    response_model=list[AssessmentOut],
    responses=problem_responses(401, 404, 422),
    summary="Every MoRiLE assessment of the case, oldest first",
)
def assessments(session: SessionDep, who: Who, case_id: CaseId) -> Json:
    return Json([assessment_view(a) for a in reads.read_assessments(session, who=who, case_id=case_id)])


@router.get(
    "/{case_id}/assessments/{seq}",
    response_model=AssessmentOut,
    responses=problem_responses(401, 404, 422),
    summary="One assessment",
)
def assessment(
    session: SessionDep, who: Who, case_id: CaseId, seq: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Json:
    rows = reads.read_assessments(session, who=who, case_id=case_id, seq=seq)
    return Json(assessment_view(rows[0]))


@router.post(
    "/{case_id}/assessments",
    status_code=201,
    response_model=AssessmentCreated,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
    summary="Score the case with MoRiLE (assesses a submitted case, re-scores one already assessed)",
)
def assess(
    session: WriteSession,
    who: Who,
    case_id: CaseId,
    body: AssessmentInput,
    if_match: IfMatch = None,
) -> Json:
    expected = parse_if_match(if_match, required=False)
    done = service.score(session, case_id=case_id, by=who, expected_version=expected, data=_fields(body))
    out = assessment_view(reads.assessment_of_event(session, case_id=case_id, event_seq=done.event_seq))
    out["case"] = case_summary(done.case)
    return Json(
        out,
        status_code=201,
        headers={"Location": out["links"]["self"], "ETag": etag(done.version)},
    )


@router.post(
    "/{case_id}/transitions/{trigger}",
    response_model=CaseOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
    summary="Fire a lifecycle trigger; send If-Match with the version you acted on",
    openapi_extra=IF_MATCH_REQUIRED,
)
def transition(
    session: WriteSession,
    who: Who,
    case_id: CaseId,
    trigger: Annotated[str, Path(max_length=32, description=f"one of: {', '.join(TRIGGERS)}")],
    if_match: IfMatch = None,
    body: TransitionInput | None = None,
) -> Json:
    expected = parse_if_match(if_match, required=False)
    done = service.fire(
        session,
        case_id=case_id,
        trigger=trigger,
        by=who,
        expected_version=expected,
        require_version=True,
        data=_fields(body),
    )
    # Answer with the case as written, even if this move took it out of the caller's sight (tasked to
    # another hub): they made the change and saw the case a moment ago.
    out = case_detail(
        done.case,
        who,
        queries.assessments(session, case_id=case_id),
        queries.decisions(session, case_id=case_id),
    )
    return Json(out, headers={"ETag": etag(done.version)})
