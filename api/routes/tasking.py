"""The tasking list as JSON (issue 13): the same ranking, parts, reasons and flags as the page, every
case awaiting a decision (or the top `per_hub` of each hub), under the same need-to-know."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import tasking_view
from api.deps import SessionDep, Who
from api.problems import problem_responses
from workflow import strategies
from workflow.reads import tasking as reads_tasking

router = APIRouter(prefix="/api/v1/tasking", tags=["tasking"])


class FastJson(Response):
    """JSON written by orjson: every awaiting case, ten thousand of them, is 6 MB that the standard
    library takes 180 ms to write and orjson a tenth of that. Times as ISO 8601 UTC with Z, as `Json`."""

    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


@router.get(
    "",
    responses=problem_responses(401, 403, 422),
    summary="Cases awaiting a tasking decision, per hub, ranked by the Control Strategy, each saying why",
)
def tasking_list(
    session: SessionDep,
    who: Who,
    hub: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
    per_hub: Annotated[int | None, Query(ge=1, le=100_000, description="at most this many per hub")] = None,
) -> FastJson:
    reads_tasking.require_staff(who)
    strategy = strategies.active_strategy(session)
    hubs = reads_tasking.agenda(session, who=who, per_hub=per_hub, hub=hub, strategy=strategy)
    return FastJson(tasking_view.listing_json(hubs, strategy))
