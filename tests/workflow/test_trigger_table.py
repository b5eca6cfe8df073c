"""The trigger definitions held to literal tables written out here, not read from workflow/triggers.py.

mutmut mutates function bodies, not the module-level definitions, so these tables are what notices a
definition changed by mistake: who may fire each trigger (asked of the access policy, person by person),
what it does to the clocks, who is told, which input it takes and which it cannot do without.
A new trigger is one new line in each table (the completeness test below names any that lacks one).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from workflow import access, clocks, triggers
from workflow.clocks import Clock
from workflow.principals import Principal, system

# The people asked, and the case they are asked about: unit NE's request, owned by owner.east, routed EAST.
PEOPLE = {
    "requester": Principal("req.ne", frozenset({"requester"}), unit_code="NE"),
    "other_requester": Principal("req.nw", frozenset({"requester"}), unit_code="NW"),
    "analyst": Principal("analyst.centre", frozenset({"analyst"})),
    "owner": Principal("owner.east", frozenset({"case_owner"})),
    "other_owner": Principal("owner.west", frozenset({"case_owner"})),
    "supervisor": Principal("chair", frozenset({"supervisor"})),
    "admin": Principal("root", frozenset({"admin"})),
    "records_officer": Principal("records", frozenset({"records_officer"})),
    "dpo": Principal("dpo", frozenset({"dpo"})),
}
CASE = {"state": "assessed", "requesting_unit": "NE", "owner": "owner.east", "hub": "EAST"}

# trigger: (who of PEOPLE may fire it on CASE, clock, roles told, fields it needs)
TABLE: dict[str, tuple[set[str], Clock, tuple[str, ...], set[str]]] = {
    "submit": ({"requester"}, Clock.REPLAN, ("requester",), set()),
    "assess": ({"analyst"}, Clock.FOLLOW, ("requester",), {"assessment"}),
    "prioritise": ({"supervisor"}, Clock.FOLLOW, (), set()),
    "task": ({"supervisor"}, Clock.NEW_CYCLE, ("owner", "requester"), {"owner"}),
    "review": ({"owner", "supervisor"}, Clock.FOLLOW, (), {"progress"}),
    "continue": ({"owner", "supervisor"}, Clock.NEW_CYCLE, (), set()),
    "reassess": ({"owner", "supervisor"}, Clock.RESTART, (), {"reason"}),
    "close": ({"owner", "supervisor"}, Clock.FOLLOW, ("requester", "hub_supervisor"), {"outcome"}),
    "reject": ({"analyst", "supervisor"}, Clock.FOLLOW, ("requester",), {"reason"}),
    "withdraw": ({"requester", "supervisor"}, Clock.FOLLOW, (), {"reason"}),
    "rescore": ({"analyst", "owner"}, Clock.REPLAN, (), {"assessment"}),
    "await_information": ({"analyst", "owner", "supervisor"}, Clock.REPLAN, ("requester",), {"reason"}),
    "defer": ({"supervisor"}, Clock.FOLLOW, ("requester",), {"reason"}),
    "information_received": ({"requester", "analyst", "owner", "supervisor"}, Clock.REPLAN, (), set()),
    # Records (issue 14): anyone involved notes and attaches (any owner: the note is no decision on the
    # case); nobody is told. The records officer alone decides retention.
    "note": ({"requester", "analyst", "owner", "other_owner", "supervisor"}, Clock.FOLLOW, (), {"note"}),
    "attach": (
        {"requester", "analyst", "owner", "other_owner", "supervisor"},
        Clock.FOLLOW,
        (),
        {"attachment"},
    ),
    "retain": ({"records_officer"}, Clock.FOLLOW, (), {"reason", "next_review"}),
    "dispose": ({"records_officer"}, Clock.FOLLOW, (), {"reason"}),
    # Co-ordination (issue 13): a supervisor moves a case between hubs, both hubs and the owner told;
    # analysts and supervisors decide deconfliction links, nobody told (a notice would hint at the other).
    "transfer": (
        {"supervisor"},
        Clock.FOLLOW,
        ("hub_supervisor", "previous_hub_supervisor", "owner"),
        {"hub", "reason"},
    ),
    "confirm_link": ({"analyst", "supervisor"}, Clock.FOLLOW, (), {"link", "reason"}),
    "dismiss_link": ({"analyst", "supervisor"}, Clock.FOLLOW, (), {"reason", "link"}),
}


def test_every_trigger_has_a_row() -> None:
    assert set(TABLE) == set(triggers.REGISTRY)


@pytest.mark.parametrize("trigger", sorted(TABLE))
def test_who_may_fire_it(trigger: str) -> None:
    expected = TABLE[trigger][0]
    assert {name for name, who in PEOPLE.items() if access.may(who, trigger, CASE)} == expected
    # Admins run the system and act on no case; system principals (timers, the CLI) may fire anything.
    assert access.may(system("system:timers"), trigger, CASE)


@pytest.mark.parametrize("trigger", sorted(TABLE))
def test_what_it_does_to_the_clocks_who_is_told_and_what_it_needs(trigger: str) -> None:
    _, clock, told, needs = TABLE[trigger]
    spec = triggers.REGISTRY[trigger]
    assert (spec.clock, spec.notify, set(spec.required)) == (clock, told, needs)


def test_scopes_are_the_owner_and_the_unit_not_just_the_role() -> None:
    # A requester with no unit is never "of the requesting unit", even of a case that names none.
    no_unit = Principal("req.none", frozenset({"requester"}))
    assert not access.may(no_unit, "withdraw", {**CASE, "requesting_unit": None})
    # An owner who is not the case's owner may not review it; nobody may take an unknown action.
    assert not access.may(PEOPLE["other_owner"], "review", CASE)
    assert not access.may(system("system:timers"), "explode", CASE)
    assert access.grants("explode") == ()
    assert access.grants("handle_escalation") == (access.Grant("supervisor"),)


def test_a_refusal_names_who_could() -> None:
    with pytest.raises(access.Forbidden) as err:
        access.require(PEOPLE["analyst"], "review", CASE)
    assert str(err.value) == ("review needs case_owner (as the case's owner) or supervisor; you have analyst")
    assert err.value.needed == ["case_owner", "supervisor"]
    with pytest.raises(access.Forbidden) as err:
        access.require(Principal("nobody", frozenset()), "withdraw", CASE)
    assert str(err.value) == (
        "withdraw needs requester (of the requesting unit) or supervisor; you have no roles"
    )
    with pytest.raises(access.Forbidden) as err:
        access.require(PEOPLE["admin"], "explode", CASE)
    assert str(err.value) == "explode needs no role; you have admin"
    access.require(PEOPLE["supervisor"], "defer", CASE)  # allowed: no error


# (clock, state before, state after) -> whether the case's clocks are planned again
REPLANS = [
    (Clock.FOLLOW, "assessed", "assessed", False),
    (Clock.FOLLOW, "assessed", "prioritised", True),
    (Clock.FOLLOW, None, "submitted", True),
    (Clock.REPLAN, "assessed", "assessed", True),
    (Clock.RESTART, "tasked", "tasked", True),
    (Clock.NEW_CYCLE, "tasked", "tasked", True),
]


@pytest.mark.parametrize(("clock", "before", "after", "expected"), REPLANS)
def test_which_changes_replan_the_clocks(
    clock: Clock, before: str | None, after: str, expected: bool
) -> None:
    assert clocks.replans(clock=clock, state_before=before, state_after=after) is expected


def test_what_each_person_is_offered_on_an_assessed_case() -> None:
    row = SimpleNamespace(
        state="assessed",
        owner="owner.east",
        requesting_unit="NE",
        hub="EAST",
        protective_marking="OFFICIAL",
        awaiting_since=None,
    )
    facts = access.case_facts(row)
    assert facts == {
        "state": "assessed",
        "owner": "owner.east",
        "requesting_unit": "NE",
        "hub": "EAST",
        "protective_marking": "OFFICIAL",
        "awaiting_since": None,
    }
    assert access.allowed_triggers(PEOPLE["supervisor"], facts) == [
        "prioritise",
        "reject",
        "withdraw",
        "await_information",
        "defer",
        "note",
        "attach",
        "confirm_link",
        "dismiss_link",
    ]
    assert access.allowed_triggers(PEOPLE["owner"], facts) == [
        "rescore",
        "await_information",
        "note",
        "attach",
    ]
    # Retention is for ended cases only; the data-protection officer acts on none.
    assert access.allowed_triggers(PEOPLE["records_officer"], facts) == []
    assert access.allowed_triggers(PEOPLE["records_officer"], {**facts, "state": "closed"}) == [
        "retain",
        "dispose",
    ]
    assert access.allowed_triggers(PEOPLE["dpo"], facts) == []
    assert access.allowed_triggers(PEOPLE["other_requester"], facts) == []
