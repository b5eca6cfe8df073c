"""Hub transfer (issue 13, story 13): a supervisor of the case's hub or the chair moves a tasked case to
another active hub with a reason; the owner must be one the new hub may task; visibility, open
escalations, timers and capacity follow the case; both hubs' supervisors are told."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications import dispatch
from notifications.case_deliveries import deliveries_of
from notifications.worker import run_once
from tests.factories import DEFAULT_DATA, add_people, case_in, p1_escalated, unchecked
from tests.notifications.outbox_support import channels
from workflow import access, accounts, capacity, hub_resources, queries, reference, service
from workflow.db import utcnow
from workflow.errors import GuardFailed, InvalidInput, NotFound
from workflow.principals import Principal
from workflow.statuses import TimerStatus
from workflow.tables import ESCALATION, TIMER

ADMIN = Principal("admin.1", frozenset({"admin"}))
REASON = "North's surveillance team is free and the line has moved to Enfield."


def person(session: Session, username: str) -> Principal:
    return accounts.principal_of(accounts.get_user(session, username=username))


@pytest.fixture
def north(session: Session) -> None:
    add_people(
        session,
        [
            ("sup.north", ["supervisor"], None, "NORTH"),
            ("owner.north", ["case_owner"], None, "NORTH"),
            ("analyst.east", ["analyst"], None, "EAST"),
        ],
    )
    for name in ("sup.east", "chair"):  # the factories' cases are OFFICIAL-SENSITIVE
        accounts.update_user(session, username=name, changes={"clearance": "OFFICIAL-SENSITIVE"})


def transfer(session: Session, case_id: int, by: Principal, **data: object) -> service.Written:
    return service.fire(session, case_id=case_id, trigger="transfer", by=by, data=data)


@pytest.mark.usefixtures("north")
def test_transfer_moves_visibility_to_the_new_hub_and_away_from_the_old(session: Session) -> None:
    tasked = case_in(session, "tasked")  # EAST, owner.east
    sup_east, sup_north = person(session, "sup.east"), person(session, "sup.north")
    with pytest.raises(NotFound):  # North cannot pull a case it cannot see
        transfer(session, tasked.case_id, sup_north, hub="NORTH", owner="owner.north", reason=REASON)
    done = transfer(session, tasked.case_id, sup_east, hub="NORTH", owner="owner.north", reason=REASON)
    assert (done.case.state, done.case.hub, done.case.owner, done.case.team) == (
        "tasked",
        "NORTH",
        "owner.north",
        None,
    )
    facts = access.case_facts(queries.get_case(session, case_id=tasked.case_id))
    seen = {u: access.can_see(person(session, u), facts) for u in ("sup.east", "owner.east", "analyst.east")}
    assert seen == {"sup.east": False, "owner.east": False, "analyst.east": False}
    assert access.can_see(sup_north, facts) and access.can_see(person(session, "owner.north"), facts)
    event = queries.history(session, case_id=tasked.case_id)[-1]
    assert (event.trigger, event.reason, event.actor) == ("transfer", REASON, "sup.east")
    assert (event.payload["from_hub"], event.payload["to_hub"], event.payload["previous_owner"]) == (
        "EAST",
        "NORTH",
        "owner.east",
    )
    # The new hub's supervisor may move it on (or back); the old hub's may not any more.
    with pytest.raises(NotFound):
        transfer(session, tasked.case_id, sup_east, hub="EAST", owner="owner.east", reason="back")


@pytest.mark.usefixtures("north")
def test_an_owner_who_cannot_follow_must_be_replaced_by_an_eligible_one(session: Session) -> None:
    tasked = case_in(session, "tasked")
    chair = person(session, "chair")
    with pytest.raises(InvalidInput) as err:
        transfer(session, tasked.case_id, chair, hub="NORTH", reason=REASON)
    assert [str(p) for p in err.value.problems] == [
        "owner: owner.east is not of hub NORTH (they are of EAST); choose an owner of NORTH"
    ]
    add_people(session, [("owner.north.o", ["case_owner"], None, "NORTH", "OFFICIAL")])
    with pytest.raises(InvalidInput) as err:
        transfer(session, tasked.case_id, chair, hub="NORTH", owner="owner.north.o", reason=REASON)
    assert [p.field for p in err.value.problems] == ["owner"]
    after = queries.get_case(session, case_id=tasked.case_id)
    assert (after.hub, after.owner, after.version) == ("EAST", "owner.east", tasked.version)
    # A centre-wide owner (no hub) may follow the case anywhere, and is kept; a team of the new hub is chosen.
    add_people(session, [("owner.all", ["case_owner"], None, None)])
    centre = case_in(session, "prioritised")
    service.fire(session, case_id=centre.case_id, trigger="task", by=chair, data={"owner": "owner.all"})
    hub_resources.add_team(
        session, hub="NORTH", data={"code": "N-SURV", "name": "North surveillance"}, by=ADMIN
    )
    done = transfer(session, centre.case_id, chair, hub="NORTH", team="N-SURV", reason=REASON)
    assert (done.case.hub, done.case.owner, done.case.team) == ("NORTH", "owner.all", "N-SURV")


@pytest.mark.usefixtures("north")
def test_transfer_to_an_inactive_or_the_same_hub_or_without_a_reason_is_refused(session: Session) -> None:
    tasked = case_in(session, "tasked")
    chair = person(session, "chair")
    reference.update_hub(session, code="WEST", changes={"active": False})
    west = {"hub": "WEST", "owner": "owner.north", "reason": REASON}
    cases = (
        (west, InvalidInput, ["hub: unknown or inactive hub 'WEST'"]),
        ({"hub": "EAST", "reason": REASON}, InvalidInput, ["hub: the case is already with EAST"]),
        (
            {"hub": "NORTH", "owner": "owner.north"},
            GuardFailed,
            ["reason: a reason is required to transfer a case"],
        ),
    )
    for data, error, problems in cases:
        with pytest.raises(error) as err:
            transfer(session, tasked.case_id, chair, **data)
        assert [str(p) for p in err.value.problems] == problems  # type: ignore[attr-defined]
    after = queries.get_case(session, case_id=tasked.case_id)
    assert (after.hub, after.version) == ("EAST", tasked.version)


@pytest.mark.usefixtures("north")
def test_capacity_moves_with_the_case_and_a_full_hub_needs_an_override(session: Session) -> None:
    tasked = case_in(session, "tasked")
    other = case_in(session, "tasked")
    hub_resources.set_capacities(
        session, hub="EAST", capacities={"surveillance": 2, "financial_investigation": 2}, by=ADMIN
    )
    hub_resources.set_capacities(
        session, hub="NORTH", capacities={"surveillance": 1, "financial_investigation": 1}, by=ADMIN
    )
    chair = person(session, "chair")

    def loads() -> dict[str, dict[str, int]]:
        return {h: {r.capability: r.load for r in rs} for h, rs in capacity.rooms(session).items()}

    assert loads() == {
        "EAST": {"financial_investigation": 2, "surveillance": 2},
        "NORTH": {"financial_investigation": 0, "surveillance": 0},
    }
    transfer(session, tasked.case_id, chair, hub="NORTH", owner="owner.north", reason=REASON)
    assert loads() == {
        "EAST": {"financial_investigation": 1, "surveillance": 1},
        "NORTH": {"financial_investigation": 1, "surveillance": 1},
    }
    with pytest.raises(InvalidInput) as err:  # North is now full
        transfer(session, other.case_id, chair, hub="NORTH", owner="owner.north", reason=REASON)
    assert [p.field for p in err.value.problems] == ["hub"]
    assert err.value.problems[0].message.startswith(
        "NORTH has no free capacity for financial_investigation, surveillance"
    )
    done = transfer(
        session, other.case_id, chair, hub="NORTH", owner="owner.north", reason=REASON, override=True
    )
    assert done.case.hub == "NORTH"
    assert queries.history(session, case_id=other.case_id)[-1].payload["capacity_override"]["hub"] == "NORTH"


@pytest.mark.usefixtures("north")
def test_open_escalations_and_timers_follow_the_case(session: Session) -> None:
    escalated = p1_escalated(session)  # an open rule escalation for EAST's supervisors
    chair = unchecked("chair")
    for trigger in ("prioritise", "task"):
        service.fire(
            session, case_id=escalated.case_id, trigger=trigger, by=chair, data=DEFAULT_DATA[trigger]
        )

    def pending_timers() -> list[tuple[str, object]]:
        rows = session.execute(
            select(TIMER.c.kind, TIMER.c.due_at)
            .where(TIMER.c.case_id == escalated.case_id, TIMER.c.status == TimerStatus.PENDING)
            .order_by(TIMER.c.id)
        )
        return [tuple(r) for r in rows]

    timers_before = pending_timers()
    before = queries.get_case(session, case_id=escalated.case_id)
    transfer(
        session,
        escalated.case_id,
        person(session, "sup.east"),
        hub="NORTH",
        owner="owner.north",
        reason=REASON,
    )
    hubs = session.execute(
        select(ESCALATION.c.hub, ESCALATION.c.status).where(ESCALATION.c.case_id == escalated.case_id)
    ).all()
    assert [tuple(h) for h in hubs] == [("NORTH", "open")]
    assert pending_timers() == timers_before and timers_before  # the review clock runs on, unchanged
    after = queries.get_case(session, case_id=escalated.case_id)
    assert after.review_due_at == before.review_due_at


@pytest.mark.usefixtures("north")
def test_both_hubs_supervisors_and_the_new_owner_are_told(engine: Engine, session: Session) -> None:
    tasked = case_in(session, "tasked")
    transfer(
        session, tasked.case_id, person(session, "chair"), hub="NORTH", owner="owner.north", reason=REASON
    )
    dispatch.dispatch(session, email_enabled=False)
    told = sorted(
        d.recipient for d in deliveries_of(session, case_id=tasked.case_id) if d.trigger == "transfer"
    )
    assert told == ["owner.north", "sup.east", "sup.north"]
    # Each is told where it went from and to, and who owns it now (not only that it was "updated").
    run_once(engine, channels=channels(), now=utcnow())
    notice = next(
        d
        for d in deliveries_of(session, case_id=tasked.case_id)
        if d.trigger == "transfer" and d.recipient == "sup.east"
    )
    assert notice.subject.endswith(f"Request {tasked.reference} moved to hub NORTH")
    assert "It moved from hub EAST to hub NORTH; its owner is now " in notice.body_text
