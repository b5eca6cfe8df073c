"""Hub capacity by capability (issue 13, story 13): kept with history by admins, load computed from the
cases hubs hold, tasking past it refused unless a supervisor overrides with a reason, and only a cleared
owner of the hub and one of its teams may be chosen."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import add_people, case_in, unchecked
from workflow import capacity, hub_resources, queries, service
from workflow.errors import Forbidden, GuardFailed, InvalidInput
from workflow.models import Refusal
from workflow.principals import Principal

SCTAC = str(Path(sys.executable).parent / "sctac")
ADMIN = Principal("admin.1", frozenset({"admin"}))
CHAIR = Principal("chair", frozenset({"supervisor"}), clearance="OFFICIAL-SENSITIVE")
# The factories' case asks for surveillance and financial investigation and is routed to EAST.
ASKS = ["financial_investigation", "surveillance"]


def size(session: Session, hub: str, **capacities: int) -> None:
    hub_resources.set_capacities(session, hub=hub, capacities=capacities, by=ADMIN, reason="sized for tests")


def test_capacity_changes_are_kept_as_history_and_the_latest_is_current(session: Session) -> None:
    size(session, "EAST", surveillance=2)
    hub_resources.set_capacity(
        session,
        hub="EAST",
        data={"capability": "surveillance", "capacity": 3, "reason": "a team back"},
        by=ADMIN,
    )
    assert capacity.current(session, hubs=["EAST"]) == {("EAST", "surveillance"): 3}
    history = hub_resources.capacity_history(session, hub="EAST")
    assert [(h["capability"], h["capacity"], h["changed_by"], h["reason"]) for h in history] == [
        ("surveillance", 3, "admin.1", "a team back"),
        ("surveillance", 2, "admin.1", "sized for tests"),
    ]


def test_only_admins_change_capacity_and_teams_and_a_refusal_is_logged(session: Session) -> None:
    for action, call in (
        ("capacity:set", lambda: hub_resources.set_capacity(
            session, hub="EAST", data={"capability": "surveillance", "capacity": 9}, by=CHAIR
        )),
        ("team:add", lambda: hub_resources.add_team(
            session, hub="EAST", data={"code": "E3", "name": "East 3"}, by=CHAIR
        )),
    ):  # fmt: skip
        with pytest.raises(Forbidden, match="needs admin"):
            call()
        assert (
            session.execute(
                select(func.count())
                .select_from(Refusal)
                .where(Refusal.username == "chair", Refusal.action == action)
            ).scalar_one()
            == 1
        )
    assert capacity.current(session) == {}
    assert [t["code"] for t in capacity.teams(session, hub="EAST")] == ["East 2"]


def test_capacity_for_an_unknown_capability_or_hub_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as err:
        hub_resources.set_capacity(
            session, hub="EAST", data={"capability": "telepathy", "capacity": 1}, by=ADMIN
        )
    assert [p.field for p in err.value.problems] == ["capability"]
    with pytest.raises(InvalidInput) as err:
        hub_resources.set_capacity(
            session, hub="EAST", data={"capability": "covert", "capacity": -1}, by=ADMIN
        )
    assert [p.field for p in err.value.problems] == ["capacity"]
    assert hub_resources.capacity_history(session) == []


def test_load_counts_each_capability_a_holding_case_asks_for(session: Session) -> None:
    case_in(session, "tasked")
    case_in(session, "reviewed")
    case_in(session, "prioritised")  # waiting: holds nothing yet
    case_in(session, "closed")  # done: holds nothing any more
    size(session, "EAST", surveillance=2, financial_investigation=1, covert=1)  # sized after: now over
    rooms = {r.capability: (r.capacity, r.load, r.free, r.over) for r in capacity.rooms(session)["EAST"]}
    assert rooms == {
        "covert": (1, 0, 1, False),
        "financial_investigation": (1, 2, 0, True),
        "surveillance": (2, 2, 0, False),
    }


def test_an_unsized_hub_limits_nothing_and_a_sized_one_lacks_what_it_has_no_row_for(session: Session) -> None:
    assert capacity.shortfall(session, hub="EAST", capabilities=ASKS) == []
    size(session, "EAST", surveillance=4)
    assert [r.capability for r in capacity.shortfall(session, hub="EAST", capabilities=ASKS)] == [
        "financial_investigation"
    ]


def test_tasking_over_capacity_is_refused_naming_the_hub_and_hubs_with_room(session: Session) -> None:
    """Story 13: East's surveillance is committed; North has one team free; South has none."""
    size(session, "EAST", surveillance=1, financial_investigation=3)
    size(session, "NORTH", surveillance=1, financial_investigation=1)
    size(session, "SOUTH", surveillance=0, financial_investigation=5)
    case_in(session, "tasked")
    waiting = case_in(session, "prioritised")
    assert capacity.hubs_with_room(session, capabilities=ASKS) == ["NORTH"]
    with pytest.raises(InvalidInput) as err:
        service.fire(session, case_id=waiting.case_id, trigger="task", by=CHAIR, data={"owner": "owner.east"})
    (problem,) = err.value.problems
    assert problem.field == "hub"
    assert problem.message == (
        "EAST has no free capacity for surveillance (surveillance 1 of 1 in use); hubs with room: NORTH. "
        "A supervisor may override with a reason"
    )
    after = queries.get_case(session, case_id=waiting.case_id)
    assert (after.state, after.version, after.owner) == ("prioritised", waiting.version, None)


def test_an_override_needs_a_reason_and_is_recorded_on_the_task_event(session: Session) -> None:
    size(session, "EAST", surveillance=1, financial_investigation=3)
    case_in(session, "tasked")
    waiting = case_in(session, "prioritised")
    with pytest.raises(GuardFailed) as err:
        service.fire(
            session,
            case_id=waiting.case_id,
            trigger="task",
            by=CHAIR,
            data={"owner": "owner.east", "override": True},
        )
    assert [str(p) for p in err.value.problems] == [
        "reason: an override of the hub's capacity needs a reason"
    ]
    reason = "P1 threat to life: the chair commits East's team regardless."
    done = service.fire(
        session,
        case_id=waiting.case_id,
        trigger="task",
        by=CHAIR,
        data={"owner": "owner.east", "override": True, "reason": reason},
    )
    assert (done.case.state, done.case.hub, done.case.owner) == ("tasked", "EAST", "owner.east")
    event = queries.history(session, case_id=waiting.case_id)[-1]
    assert (event.trigger, event.reason, event.actor, event.payload["override"]) == (
        "task",
        reason,
        "chair",
        True,
    )
    assert event.payload["capacity_override"] == {
        "hub": "EAST",
        "short": [{"capability": "surveillance", "capacity": 1, "load": 1}],
    }
    assert [(r.capability, r.load, r.over) for r in capacity.rooms(session)["EAST"]] == [
        ("financial_investigation", 2, False),
        ("surveillance", 2, True),
    ]


def test_only_a_cleared_owner_of_the_hub_can_be_chosen(session: Session) -> None:
    add_people(
        session,
        [
            ("owner.east.o", ["case_owner"], None, "EAST", "OFFICIAL"),
            ("owner.north", ["case_owner"], None, "NORTH"),
            ("sup.east2", ["supervisor"], None, "EAST"),
        ],
    )
    waiting = case_in(session, "prioritised")  # OFFICIAL-SENSITIVE, routed to EAST
    expected = {
        "owner.east.o": (
            "owner: owner.east.o is cleared for OFFICIAL, not OFFICIAL-SENSITIVE: they could not see the case"
        ),
        "owner.north": "owner: owner.north is not of hub EAST (they are of NORTH)",
        "sup.east2": "owner: sup.east2 is not a case owner",
    }
    for owner, message in expected.items():
        with pytest.raises(InvalidInput) as err:
            service.fire(session, case_id=waiting.case_id, trigger="task", by=CHAIR, data={"owner": owner})
        assert [str(p) for p in err.value.problems] == [message]
    eligible = capacity.eligible_owners(session, hub="EAST", marking="OFFICIAL-SENSITIVE")
    assert [u["username"] for u in eligible] == ["owner.east"]
    # analyst1 owns cases centre-wide (no hub) but is cleared for OFFICIAL only.
    assert [u["username"] for u in capacity.eligible_owners(session, hub="EAST", marking="OFFICIAL")] == [
        "analyst1",
        "owner.east",
        "owner.east.o",
    ]
    assert queries.get_case(session, case_id=waiting.case_id).state == "prioritised"


def test_a_task_to_an_unknown_or_stood_down_team_is_refused(session: Session) -> None:
    hub_resources.add_team(
        session, hub="EAST", data={"code": "E-SURV-1", "name": "East surveillance 1"}, by=ADMIN
    )
    hub_resources.change_team(session, hub="EAST", code="E-SURV-1", changes={"active": False}, by=ADMIN)
    waiting = case_in(session, "prioritised")
    for team in ("Made up", "E-SURV-1"):
        with pytest.raises(InvalidInput) as err:
            service.fire(
                session,
                case_id=waiting.case_id,
                trigger="task",
                by=CHAIR,
                data={"owner": "owner.east", "team": team},
            )
        assert [str(p) for p in err.value.problems] == [
            f"team: no active team {team!r} in hub EAST (its teams: East 2)"
        ]
    done = service.fire(
        session,
        case_id=waiting.case_id,
        trigger="task",
        by=unchecked("chair"),
        data={"owner": "owner.east", "team": "East 2"},
    )
    assert done.case.team == "East 2"


def test_the_routing_rules_teams_are_seeded_as_real_teams(session: Session) -> None:
    # rules/default/routing.yaml sends threat-to-life work to the centre's kidnap and extortion team.
    assert [(t["hub"], t["code"], t["capability"]) for t in capacity.teams(session, hub="CENTRE")] == [
        ("CENTRE", "kidnap_extortion", "kidnap_extortion")
    ]


def _sctac(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCTAC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return subprocess.run([SCTAC, *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_cli_loads_a_capacity_file_or_names_every_error_and_changes_nothing(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("capacity:\n  EAST: {surveillance: two}\n  MOON: {covert: 1}\n")
    refused = _sctac(engine, "capacity", "load", str(bad))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        f'{bad}:2:24: capacity.EAST.surveillance: expected an integer, got "two"',
        f'{bad}:3:3: capacity.MOON: unknown hub "MOON" (known: CENTRE, EAST, NORTH, SOUTH, WEST)',
        "sctac: 2 error(s) in the capacity file; nothing was changed",
    ]
    good = tmp_path / "capacity.yaml"
    good.write_text("reason: 2027 establishment\ncapacity:\n  EAST: {surveillance: 2, covert: 1}\n")
    done = _sctac(engine, "capacity", "load", str(good))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "EAST\tcovert\t1",
        "EAST\tsurveillance\t2",
        "2 capacity figure(s) changed",
    ]
    again = _sctac(engine, "capacity", "load", str(good))  # the same figures: nothing new in the history
    assert again.stdout.splitlines() == ["0 capacity figure(s) changed"]
    session.rollback()
    history = hub_resources.capacity_history(session)
    assert [(h["capability"], h["capacity"], h["changed_by"], h["reason"]) for h in history] == [
        ("surveillance", 2, "cli", "2027 establishment"),
        ("covert", 1, "cli", "2027 establishment"),
    ]
    as_supervisor = _sctac(engine, "capacity", "load", str(good), "--as", "chair")
    assert as_supervisor.returncode == 1
    assert as_supervisor.stderr.strip() == "sctac: capacity:load needs admin; you have supervisor"


def test_chairs_racing_for_a_hubs_last_place_are_counted_one_after_the_other(engine: Engine) -> None:
    """Six tasks into EAST at once with room for two: exactly two are tasked, four refused for capacity."""
    with Session(engine, expire_on_commit=False) as s:
        waiting = [case_in(s, "prioritised").case_id for _ in range(6)]
        size(s, "EAST", surveillance=2, financial_investigation=2)
    outcomes: list[str] = []
    guard = threading.Lock()
    start = threading.Barrier(len(waiting))

    def chair(case_id: int) -> None:
        start.wait()
        with Session(engine, expire_on_commit=False) as s:
            try:
                service.fire(s, case_id=case_id, trigger="task", by=CHAIR, data={"owner": "owner.east"})
                result = "tasked"
            except InvalidInput as exc:
                result = "refused:" + ",".join(p.field for p in exc.problems)
        with guard:
            outcomes.append(result)

    threads = [threading.Thread(target=chair, args=(c,)) for c in waiting]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused:hub"] * 4 + ["tasked"] * 2
    with Session(engine) as s:
        assert {(r.capability, r.load) for r in capacity.rooms(s)["EAST"]} == {
            ("financial_investigation", 2),
            ("surveillance", 2),
        }
