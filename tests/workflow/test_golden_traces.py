"""Golden lifecycle traces: replay each file's triggers and compare states, events and the case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from sqlmodel import Session

from tests.conftest import GOLDEN
from tests.factories import morile_inputs, submit, unchecked
from workflow import audit, queries, service
from workflow.errors import DomainError

TRACES = sorted((GOLDEN / "lifecycle").glob("*.yaml"))
ASSESSMENTS = {"default": morile_inputs(), "raised": morile_inputs(likelihood=5, vulnerability=3)}


def _data(step: dict[str, Any]) -> dict[str, Any]:
    data = dict(step.get("data") or {})
    if "assessment" in data:
        data["assessment"] = ASSESSMENTS[data["assessment"]]
    return data


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_golden_trace(session: Session, path: Path) -> None:
    golden = YAML(typ="safe").load(path.read_text())
    case_id = submit(session).case_id
    states = ["submitted"]
    for step in golden["steps"]:
        if "error" in step:
            with pytest.raises(DomainError) as err:
                service.fire(
                    session,
                    case_id=case_id,
                    trigger=step["trigger"],
                    by=unchecked(step["actor"]),
                    data=_data(step),
                )
            assert str(err.value) == step["error"]
            continue
        done = service.fire(
            session, case_id=case_id, trigger=step["trigger"], by=unchecked(step["actor"]), data=_data(step)
        )
        states.append(done.to_state)
    expect = golden["expect"]
    assert states == expect["states"]
    events = queries.history(session, case_id=case_id)
    assert [[e.seq, e.trigger, e.from_state, e.to_state, e.actor] for e in events] == expect["events"]
    case = queries.get_case(session, case_id=case_id)
    assert {k: getattr(case, k) for k in expect["case"]} == expect["case"]
    assert audit.verify(session).ok
