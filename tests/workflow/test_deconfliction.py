"""Deconfliction: the golden set of names (linked and look-alikes), candidate links recorded at
submission across units, and the confirm/dismiss decision as an event on both cases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select
from sqlmodel import Session

from tests.factories import drive, request_data, unchecked
from workflow import audit, queries, service
from workflow.db import utcnow
from workflow.deconfliction import index
from workflow.deconfliction.matcher import THRESHOLD, Known, Name, match, similarity
from workflow.deconfliction.names import normalise
from workflow.errors import GuardFailed, InvalidInput
from workflow.tables import LINK, TARGET_KEY, TARGET_NAME

GOLDEN = YAML(typ="safe").load((Path(__file__).parent / "golden_deconfliction" / "names.yaml").read_text())


def _ids(entries: list[list[str]]) -> list[str]:
    return [f"{a} ~ {b}" for _kind, a, b, _why in entries]


@pytest.mark.parametrize(("kind", "a", "b", "why"), GOLDEN["linked"], ids=_ids(GOLDEN["linked"]))
def test_golden_names_are_linked(kind: str, a: str, b: str, why: str) -> None:
    found = match([Name(a, kind, "target_name")], [Known("other", Name(b, kind, "target_name"))])
    assert [c.owner for c in found] == ["other"], f"{a!r} and {b!r} ({why}) should match"
    # ... and the index would have offered the pair for scoring (they share a blocking key).
    assert index.keys_of(Name(a, kind, "x")) & index.keys_of(Name(b, kind, "x"))


@pytest.mark.parametrize(("kind", "a", "b", "why"), GOLDEN["not_linked"], ids=_ids(GOLDEN["not_linked"]))
def test_look_alikes_are_not_linked(kind: str, a: str, b: str, why: str) -> None:
    score, _how = similarity(normalise(a, kind), normalise(b, kind))
    assert score < THRESHOLD, f"{a!r} and {b!r} ({why}) scored {score}"


@pytest.mark.parametrize(("kind", "a", "b", "why"), GOLDEN["borderline"], ids=_ids(GOLDEN["borderline"]))
def test_borderline_pairs_are_raised_for_an_analyst(kind: str, a: str, b: str, why: str) -> None:
    score, _how = similarity(normalise(a, kind), normalise(b, kind))
    assert score >= THRESHOLD, f"{a!r} and {b!r} ({why}) scored {score}"


def test_names_of_different_kinds_never_match() -> None:
    assert match([Name("Adams", "group", "target_name")], [Known(1, Name("Adams", "person", "x"))]) == []


def test_a_match_says_which_fields_forms_and_algorithm() -> None:
    [found] = match(
        [Name("Brixton Boys", "group", "target_name"), Name("BXB", "group", "target_aliases[0]")],
        [Known(7, Name("The Brixton Boyz OCG", "group", "target_name"))],
    )
    [reason] = found.reasons
    assert (reason.field, reason.name, reason.normalised) == ("target_name", "Brixton Boys", "brixton boys")
    assert (reason.other_field, reason.other_normalised) == ("target_name", "brixton boyz")
    assert "token_sort_ratio" in reason.algorithm and reason.score == found.score >= THRESHOLD


# -- at submission -------------------------------------------------------------------------------------


def _submit(session: Session, unit: str, **overrides: Any) -> service.Fired:
    data = request_data(requesting_unit=unit, **overrides)
    return service.submit_case(session, request=data, by=unchecked(f"ds.{unit.lower()}"))


def _links(session: Session) -> list[Any]:
    return list(session.execute(select(LINK).order_by(LINK.c.id)).mappings())


def test_submission_records_candidates_across_units(session: Session) -> None:
    first = _submit(session, "AS", target_name="The Brixton Boys OCG")
    alias = _submit(session, "NE", target_name="Stockwell Crew", target_aliases=["Brixtin Boyz"])
    _submit(session, "NW", target_name="Peckham Boys")  # a look-alike: no link
    place = _submit(
        session, "CE", target_type="location", target_name="14 Acre Ln, Brixton", target_locations=[]
    )
    near = _submit(
        session,
        "SE",
        target_type="individual",
        target_name="Kofi Mensah",
        target_locations=["14 Acre Lane Brixton"],
    )
    links = _links(session)
    pairs = {(r["older_case_id"], r["newer_case_id"]) for r in links}
    assert pairs == {(first.case_id, alias.case_id), (place.case_id, near.case_id)}
    by_pair = {(r["older_case_id"], r["newer_case_id"]): r for r in links}
    why = by_pair[(first.case_id, alias.case_id)]["reasons"][0]
    assert why["field"] == "target_aliases[0]" and why["other_field"] == "target_name"
    assert why["normalised"] == "brixtin boyz" and why["other_normalised"] == "brixton boys"
    assert all(r["status"] == "candidate" for r in links)
    # The aliases are in the submission event (the truth the index is derived from).
    event = queries.history(session, case_id=alias.case_id)[0]
    assert event.payload["request"]["target_aliases"] == ["Brixtin Boyz"]


def test_a_request_without_aliases_records_none_in_its_event(session: Session) -> None:
    done = _submit(session, "AS", target_name="Brixton Boys")
    assert "target_aliases" not in queries.history(session, case_id=done.case_id)[0].payload["request"]


def test_closed_cases_match_only_while_recent(session: Session) -> None:
    old = drive(session, _submit(session, "AS", target_name="Brixton Boys"), "closed")
    names = [Name("Brixton Boys", "group", "target_name")]
    now = utcnow()
    assert [c.owner for c in index.search(session, names=names, now=now, days=30)] == [old.case_id]
    assert index.search(session, names=names, now=now + timedelta(days=31), days=30) == []


def test_themes_are_not_names(session: Session) -> None:
    _submit(session, "AS", target_type="theme", target_name="Knife crime in Lambeth")
    _submit(session, "NE", target_type="theme", target_name="Knife crime in Lambeth")
    assert _links(session) == []


# -- deciding a link -----------------------------------------------------------------------------------


def _decide(session: Session, case_id: int, trigger: str, data: dict[str, Any]) -> service.Fired:
    return service.fire(session, case_id=case_id, trigger=trigger, by=unchecked("analyst1"), data=data)


def _linked_pair(session: Session) -> tuple[service.Fired, service.Fired, int]:
    a = _submit(session, "AS", target_name="Brixton Boys")
    b = _submit(session, "NE", target_name="The Brixton Boyz")
    [link] = _links(session)
    return a, b, int(link["id"])


def test_confirming_writes_an_event_on_both_cases(session: Session) -> None:
    a, b, link = _linked_pair(session)
    done = _decide(
        session,
        b.case_id,
        "confirm_link",
        {"link": link, "reason": "Same OCG: shared line phone.", "lead_case": a.case_id, "hub": "SOUTH"},
    )
    assert done.version == b.version + 1 and done.to_state == "submitted"
    mine = queries.history(session, case_id=b.case_id)[-1]
    theirs = queries.history(session, case_id=a.case_id)[-1]
    assert (mine.trigger, theirs.trigger) == ("confirm_link", "confirm_link")
    assert mine.reason == theirs.reason == "Same OCG: shared line phone."
    assert mine.payload["other_case"] == a.case_id and theirs.payload["other_case"] == b.case_id
    assert theirs.payload["lead_case"] == a.case_id and theirs.payload["coordinating_hub"] == "SOUTH"
    [row] = _links(session)
    assert (row["status"], row["lead_case_id"], row["coordinating_hub"], row["decided_by"]) == (
        "confirmed",
        a.case_id,
        "SOUTH",
        "analyst1",
    )
    # Both chains still verify (the mirrored event was written like every change).
    assert queries.get_case(session, case_id=a.case_id).version == a.version + 1
    assert audit.verify(session).ok


def test_dismissing_needs_a_reason_and_writes_nothing_without_one(session: Session) -> None:
    a, b, link = _linked_pair(session)
    with pytest.raises(GuardFailed) as refused:
        _decide(session, a.case_id, "dismiss_link", {"link": link})
    assert [p.field for p in refused.value.problems] == ["reason"]
    assert _links(session)[0]["status"] == "candidate"
    assert len(queries.history(session, case_id=b.case_id)) == 1
    _decide(
        session,
        a.case_id,
        "dismiss_link",
        {"link": link, "reason": "Different group: Brixton Hill, not Brixton."},
    )
    assert _links(session)[0]["status"] == "dismissed"
    assert queries.history(session, case_id=b.case_id)[-1].trigger == "dismiss_link"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "same"}, "link"),
        ({"link": 999, "reason": "same"}, "link"),
        ({"link": "x", "reason": "same"}, "link"),
        ({"link": "LINK", "reason": "same", "lead_case": 999}, "lead_case"),
        ({"link": "LINK", "reason": "same", "hub": "NOWHERE"}, "hub"),
    ],
)
def test_bad_link_decisions_name_the_field(session: Session, data: dict[str, Any], field: str) -> None:
    a, b, link = _linked_pair(session)
    if data.get("link") == "LINK":
        data = {**data, "link": link}
    with pytest.raises((InvalidInput, GuardFailed)) as refused:
        _decide(session, a.case_id, "confirm_link", data)
    assert field in [p.field for p in refused.value.problems]
    assert _links(session)[0]["status"] == "candidate"
    assert [len(queries.history(session, case_id=c)) for c in (a.case_id, b.case_id)] == [1, 1]


def test_a_link_of_another_case_is_no_link_here(session: Session) -> None:
    _a, _b, link = _linked_pair(session)
    other = _submit(session, "NW", target_name="Somewhere Else Entirely")
    with pytest.raises(InvalidInput) as refused:
        _decide(session, other.case_id, "confirm_link", {"link": link, "reason": "same"})
    assert refused.value.problems[0].field == "link"


def test_cases_filed_before_deconfliction_are_indexed_from_their_events(session: Session) -> None:
    a = _submit(session, "AS", target_name="Brixton Boys")
    b = _submit(session, "NE", target_name="Stockwell Crew", target_aliases=["The Brixton Boyz"])
    session.execute(LINK.delete())
    session.execute(TARGET_KEY.delete())
    session.execute(TARGET_NAME.delete())  # as if submitted before the index existed
    session.commit()
    assert index.index_unfiled(session, now=utcnow()) == 2
    [link] = _links(session)
    assert (link["older_case_id"], link["newer_case_id"]) == (a.case_id, b.case_id)
    assert link["reasons"][0]["field"] == "target_aliases[0]"
    assert index.index_unfiled(session, now=utcnow()) == 0  # run again: nothing left to file
