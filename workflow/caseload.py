"""The open caseload as rule facts, for previewing a candidate ruleset before it is published (story 8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from workflow.lifecycle import OPEN_STATES
from workflow.tables import ASSESSMENT, CASE, UNIT


def open_case_facts(session: Session, *, batch: int = 5000) -> Iterator[tuple[str, dict[str, Any]]]:
    """(reference, facts) for every open case, the form rules.preview takes."""
    for _, reference, facts in open_cases(session, batch=batch):
        yield reference, facts


def open_cases(session: Session, *, batch: int = 5000) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(id, reference, facts) for every open case, with its latest assessment's scores, streamed."""
    latest = (
        select(ASSESSMENT.c.case_id, func.max(ASSESSMENT.c.seq).label("seq"))
        .group_by(ASSESSMENT.c.case_id)
        .subquery()
    )
    query = (
        select(
            CASE.c.id,
            CASE.c.reference,
            CASE.c.requesting_unit,
            UNIT.c.kind,
            CASE.c.themes,
            CASE.c.capabilities,
            CASE.c.target_type,
            CASE.c.protective_marking,
            CASE.c.tags,
            CASE.c.state,
            ASSESSMENT.c.band,
            ASSESSMENT.c.risk,
            ASSESSMENT.c.harm_total,
            ASSESSMENT.c.likelihood_total,
            ASSESSMENT.c.floor_applied,
            ASSESSMENT.c.org_grade,
            ASSESSMENT.c.confidence,
            ASSESSMENT.c.response_level,
        )
        .join(UNIT, UNIT.c.code == CASE.c.requesting_unit)
        .outerjoin(latest, latest.c.case_id == CASE.c.id)
        .outerjoin(ASSESSMENT, and_(ASSESSMENT.c.case_id == CASE.c.id, ASSESSMENT.c.seq == latest.c.seq))
        .where(CASE.c.state.in_(OPEN_STATES))
        .order_by(CASE.c.id)
        .execution_options(yield_per=batch)
    )
    for r in session.execute(query):
        facts: dict[str, Any] = {
            "unit": r.requesting_unit,
            "unit_kind": r.kind,
            "themes": list(r.themes),
            "capabilities": list(r.capabilities),
            "target_type": r.target_type,
            "marking": r.protective_marking,
            "tags": list(r.tags),
            "stage": r.state,
        }
        if r.band is not None:
            facts.update(
                band=r.band,
                risk=r.risk,
                harm_total=r.harm_total,
                likelihood_total=r.likelihood_total,
                harm_floor=r.floor_applied,
                org_grade=r.org_grade,
                confidence=r.confidence,
                response_level=r.response_level,
            )
        yield r.id, r.reference, facts
