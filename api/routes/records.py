"""Notes and documents on a case, the records search, and subject access for the DPO."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from api import disclosure_render
from api.deps import Admin, IfMatch, SessionDep, Who, WriteSession, parse_if_match
from api.downloads import attachment_response
from api.problems import problem_responses
from api.views import CASES, Json, etag
from workflow import disclosure, records
from workflow.reads import records as record_reads
from workflow.schemas import Marking, NoteText

router = APIRouter(prefix=CASES, tags=["notes and documents"])
search_router = APIRouter(prefix="/api/v1/records", tags=["notes and documents"])
dpo_router = APIRouter(prefix="/api/v1/dpo", tags=["subject access"])
admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the case's numeric id")]
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the attachment's SHA-256")]
SAFE = r"^[^\x00-\x1f\x7f]*$"
SubjectName = Annotated[
    str, Query(min_length=1, max_length=200, pattern=SAFE, description="the subject's name")
]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: NoteText
    marking: Marking | None = None


class RecordOut(BaseModel):
    case_id: int
    seq: int
    kind: Literal["note", "attachment"]
    at: datetime
    actor: str
    marking: str
    withheld: bool
    text: str | None
    file: dict[str, Any] | None


class RecordWritten(RecordOut):
    version: int


class FoundOut(BaseModel):
    case_id: int
    reference: str
    title: str
    record: RecordOut


class SubjectAccessOut(BaseModel):
    id: int
    at: datetime
    username: str
    action: str
    query: str
    matches: int


def _written(session: SessionDep, who: Any, case_id: int, done: Any) -> Json:
    shown = [
        r for r in record_reads.case_records(session, who=who, case_id=case_id) if r.seq == done.event_seq
    ]
    return Json(
        {**shown[0].as_dict(), "version": done.version},
        status_code=201,
        headers={"ETag": etag(done.version), "Location": f"{CASES}/{case_id}/records"},
    )


@router.post(
    "/{case_id}/notes",
    status_code=201,
    response_model=RecordWritten,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Add a note to the case log (append-only; its marking may be higher than the case's)",
)
def add_note(
    session: WriteSession, who: Who, case_id: CaseId, body: NoteIn, if_match: IfMatch = None
) -> Json:
    done = records.add_note(
        session,
        case_id=case_id,
        by=who,
        text=body.text,
        marking=body.marking,
        expected_version=parse_if_match(if_match, required=False),
    )
    return _written(session, who, case_id, done)


@router.post(
    "/{case_id}/attachments",
    status_code=201,
    response_model=RecordWritten,
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422),
    summary="Attach a document (stored by SHA-256 outside the database; its type is read from its content)",
)
def attach(
    session: WriteSession,
    who: Who,
    case_id: CaseId,
    file: Annotated[UploadFile, File(description="the document")],
    marking: Annotated[Marking | None, Form()] = None,
    if_match: IfMatch = None,
) -> Json:
    done = records.attach(
        session,
        case_id=case_id,
        by=who,
        stream=file.file,
        name=file.filename,
        declared_type=file.content_type,
        marking=marking,
        expected_version=parse_if_match(if_match, required=False),
    )
    return _written(session, who, case_id, done)


@router.get(
    "/{case_id}/records",
    response_model=list[RecordOut],
    responses=problem_responses(401, 404, 422),
    summary="The case's notes and documents, oldest first (those above your clearance: that they exist)",
)
def case_records(session: SessionDep, who: Who, case_id: CaseId) -> Json:
    return Json([r.as_dict() for r in record_reads.case_records(session, who=who, case_id=case_id)])


@router.get(
    "/{case_id}/attachments/{sha256}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, **problem_responses(401, 403, 404, 422)},
    summary="Download a document (always as an attachment, never rendered; logged as a read)",
)
def download(session: SessionDep, who: Who, case_id: CaseId, sha256: Digest) -> Response:
    return attachment_response(record_reads.attachment_file(session, who=who, case_id=case_id, sha256=sha256))


@search_router.get(
    "/search",
    response_model=list[FoundOut],
    responses=problem_responses(401, 422),
    summary="Notes and document names naming these words (fuzzy), in the cases you may see",
)
def search(
    session: SessionDep,
    who: Who,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=SAFE)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Json:
    found = record_reads.search_records(session, who=who, q=q, limit=limit)
    return Json(
        [
            {"case_id": f.case_id, "reference": f.reference, "title": f.title, "record": f.record.as_dict()}
            for f in found
        ]
    )


@dpo_router.get(
    "/subjects",
    responses=problem_responses(401, 403, 422),
    summary="Every case, note and document naming a person (DPO only; logged)",
)
def subject_search(session: SessionDep, who: Who, name: SubjectName) -> Json:
    return Json([i.as_dict() for i in disclosure.search(session, by=who, name=name)])


@dpo_router.get(
    "/subjects/export",
    response_class=Response,
    responses={
        200: {"content": {"application/json": {}, "application/pdf": {}}},
        **problem_responses(401, 403, 422),
    },
    summary="The disclosure bundle, JSON or PDF, with what to withhold marked for review (DPO only; logged)",
)
def subject_export(
    session: SessionDep, who: Who, name: SubjectName, format: Literal["json", "pdf"] = "json"
) -> Response:
    bundle = disclosure.bundle(session, by=who, name=name, fmt=format)
    return disclosure_render.response(bundle, format)


@admin_router.get(
    "/subject-access",
    response_model=list[SubjectAccessOut],
    responses=problem_responses(401, 403, 422),
    summary="Subject searches and exports, newest first",
)
def subject_access_log(
    session: SessionDep,
    who: Admin,
    username: Annotated[str | None, Query(max_length=64, pattern=SAFE)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Json:
    rows = disclosure.access_log(session, by=who, username=username, limit=limit)
    return Json([r.model_dump() for r in rows])
