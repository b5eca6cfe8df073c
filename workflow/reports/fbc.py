"""The Full Business Case figures (#16): demand forecast, measured effort and the staff it takes.

`outlook` reads the log (`demand.py`), forecasts every series (`forecast.py`), applies the scenario and
sizes the two pools of people with Erlang C (`staffing.py`), all as plain JSON data for the CLI, the API
and the page. Every assumption it makes is named in the result, with the value used, so a reader can
change it and see the figures move.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session
from threadpoolctl import threadpool_limits

from workflow.access import Forbidden, Principal
from workflow.errors import FieldProblem, InvalidInput, TooLittleHistory
from workflow.reports import demand as demand_log
from workflow.reports.forecast import MIN_WEEKS, Forecast, forecast
from workflow.reports.staffing import Assumptions, Target, attainment, needed

MAX_HORIZON = 104
# The pathfinder's people (seed document, recommendation 3b): 10 FTE in the centre, who own, prioritise,
# task and review cases, and 2 FTE from Met Intelligence, who assess. Editable: the split is ours.
PATHFINDER = {"analysts": 2, "owners": 10}
# Minutes a step takes where nobody recorded any: a stated guess, editable, replaced by measurements.
ASSUMED_MINUTES = {"assess": 90, "rescore": 30, "prioritise": 10, "task": 15, "review": 45}
DEFAULT_TARGETS = (Target("assess", 0.90, 24.0), Target("review", 0.90, 72.0))
# Which target sizes which pool.
POOL_OF_TARGET = {"assess": "analysts", "review": "owners"}
_TARGET = re.compile(r"^\s*(assess|review)\s*=\s*(\d+(?:\.\d+)?)\s*%?\s*@\s*(\d+(?:\.\d+)?)\s*h?\s*$")


def may_read(who: Principal) -> bool:
    """Who may see it: the same people as the evaluation (it counts every case of the centre)."""
    return who.sees_everything


def parse_target(text: str) -> Target:
    """`assess=90@24`: 90% of assessments within 24 hours. Refuses what no staffing can meet."""
    found = _TARGET.match(text)
    if found is None:
        raise InvalidInput(
            [
                FieldProblem(
                    "target",
                    f"{text!r}: write STAGE=PERCENT@HOURS, e.g. assess=90@24 (stages: assess, review)",
                )
            ]
        )
    target = Target(found[1], float(found[2]) / 100, float(found[3]))
    problem = target.problem()
    if problem is not None:
        raise InvalidInput([FieldProblem("target", problem)])
    return target


@dataclass(frozen=True)
class Scenario:
    demand_growth: float = 0.0  # percent added to every forecast week
    new_theme: float = 0.0  # requests a week from a new priority theme
    assessment_effort: float = 0.0  # percent change in assessment (and re-score) minutes

    def check(self) -> None:
        problems = []
        if not -100 < self.demand_growth <= 1000:
            problems.append(FieldProblem("demand_growth", "a percentage above -100 and at most 1000"))
        if not 0 <= self.new_theme <= 10000:
            problems.append(FieldProblem("new_theme", "requests a week, from 0 to 10000"))
        if not -100 < self.assessment_effort <= 1000:
            problems.append(FieldProblem("assessment_effort", "a percentage above -100 and at most 1000"))
        if problems:
            raise InvalidInput(problems)


@dataclass(frozen=True)
class Inputs:
    horizon: int = 26
    targets: tuple[Target, ...] = DEFAULT_TARGETS
    scenario: Scenario = field(default_factory=Scenario)
    assumptions: Assumptions = field(default_factory=Assumptions)
    assumed_minutes: dict[str, float] = field(default_factory=lambda: dict(ASSUMED_MINUTES))
    current: dict[str, int] = field(default_factory=lambda: dict(PATHFINDER))

    def check(self) -> None:
        problems = []
        if not 1 <= self.horizon <= MAX_HORIZON:
            problems.append(FieldProblem("weeks", f"from 1 to {MAX_HORIZON} weeks"))
        if not 0 < self.assumptions.productive_share <= 1:
            problems.append(FieldProblem("productive_share", "a share above 0 and at most 1"))
        if not 1 <= self.assumptions.open_hours <= 168:
            problems.append(FieldProblem("open_hours", "from 1 to 168 hours a week"))
        for stage, minutes in self.assumed_minutes.items():
            if not 0 < minutes <= 24 * 60:
                problems.append(FieldProblem(f"minutes.{stage}", "minutes above 0, a day at most"))
        for pool, staff in self.current.items():
            if not 0 <= staff <= 10000:
                problems.append(FieldProblem(f"current.{pool}", "a number of FTE from 0 to 10000"))
        for target in self.targets:
            problem = target.problem()
            if problem is not None:
                problems.append(FieldProblem("target", problem))
        if problems:
            raise InvalidInput(problems)
        self.scenario.check()


def _effort(log: demand_log.Demand, inputs: Inputs) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    rows = []
    for (stage, band), steps in sorted(log.steps.items()):
        recorded = log.minutes.get((stage, band), [])
        rows.append(
            {
                "stage": stage,
                "band": band,
                "steps": steps,
                "recorded": len(recorded),
                "mean_minutes": round(statistics.fmean(recorded), 1) if recorded else None,
                "median_minutes": statistics.median(recorded) if recorded else None,
            }
        )
    used = {}
    for stage in demand_log.STAGES:
        recorded = [m for (s, _), ms in log.minutes.items() if s == stage for m in ms]
        steps = sum(n for (s, _), n in log.steps.items() if s == stage)
        if recorded:
            used[stage] = {
                "minutes": round(statistics.fmean(recorded), 1),
                "source": f"measured on {len(recorded)} of {steps} steps",
            }
        else:
            used[stage] = {
                "minutes": float(inputs.assumed_minutes[stage]),
                "source": f"assumed: no effort recorded on {steps} steps",
            }
    return rows, used


def _series(kind: str, key: str, name: str, counts: list[int], horizon: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "name": name,
        "history": counts,
        "total": sum(counts),
        "_fit": forecast(counts, horizon=horizon),
    }


def outlook(
    session: Session, *, who: Principal, inputs: Inputs | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The forecast, effort and staffing as plain JSON data, counting only the cases `who` may see.

    Raises Forbidden for someone who is not centre staff, InvalidInput naming the field for inputs out
    of range or a target no staffing can meet, and TooLittleHistory for under MIN_WEEKS weeks of log."""
    if not may_read(who):
        raise Forbidden(
            "the forecast covers every case: it is for centre staff and admins",
            needed=["analyst", "case_owner", "supervisor", "admin"],
        )
    inputs = inputs or Inputs()
    inputs.check()
    now = now or datetime.now(UTC)
    log = demand_log.read(session, who=who, now=now)
    if len(log.weeks) < MIN_WEEKS:
        raise TooLittleHistory(len(log.weeks), MIN_WEEKS)
    horizon = inputs.horizon
    # One BLAS thread: these fits are tiny, and on a busy machine OpenBLAS's threads spinning against
    # each other made each ETS fit ten times slower (163 ms against 15 ms, measured here).
    with threadpool_limits(1):
        series = [_series("overall", "overall", "All requests", log.overall, horizon)]
        for kind in ("theme", "bcu", "hub"):
            for key, counts in log.by[kind].items():
                series.append(_series(kind, key, log.names[kind][key], counts, horizon))
    scenario = inputs.scenario
    factor = 1 + scenario.demand_growth / 100
    future = [log.weeks[-1] + timedelta(weeks=i + 1) for i in range(horizon)]
    for s in series:
        fit: Forecast = s.pop("_fit")
        extra = scenario.new_theme if s["kind"] == "overall" else 0.0
        s.update(fit.scaled(factor, extra).as_dict() if (factor != 1 or extra) else fit.as_dict())
    if scenario.new_theme:
        flat = [round(scenario.new_theme, 2)] * horizon
        series.append(
            {
                "kind": "theme",
                "key": "new priority theme",
                "name": "new priority theme (scenario)",
                "history": [],
                "total": 0,
                "model": "scenario",
                "note": "a flat rate, as entered",
                "mean": flat,
                "lo80": flat,
                "hi80": flat,
                "lo95": flat,
                "hi95": flat,
                "backtest": None,
            }
        )
    effort_rows, used = _effort(log, inputs)
    if scenario.assessment_effort:
        for stage in ("assess", "rescore"):
            used[stage] = {
                "minutes": round(used[stage]["minutes"] * (1 + scenario.assessment_effort / 100), 1),
                "source": used[stage]["source"] + f", then {scenario.assessment_effort:+g}% (scenario)",
            }
    staffing = _staffing(log, inputs, used, series[0]["mean"], future)
    return {
        "as_at": (log.as_at or now).isoformat(),
        "log_ends": log.log_ends.isoformat() if log.log_ends else None,
        "history": {
            "weeks": len(log.weeks),
            "from": log.weeks[0].isoformat(),
            "to": log.weeks[-1].isoformat(),
            "requests": log.requests,
        },
        "horizon": horizon,
        "weeks": [w.isoformat() for w in log.weeks],
        "future": [w.isoformat() for w in future],
        "series": series,
        "effort": {"by_stage_and_band": effort_rows, "used": used},
        "staffing": staffing,
        "scenario": {
            "demand_growth": scenario.demand_growth,
            "new_theme": scenario.new_theme,
            "assessment_effort": scenario.assessment_effort,
        },
        "assumptions": {
            "open_hours": inputs.assumptions.open_hours,
            "productive_share": inputs.assumptions.productive_share,
            "assumed_minutes": inputs.assumed_minutes,
            "current": inputs.current,
            "targets": [{"stage": t.stage, "share": t.share, "hours": t.hours} for t in inputs.targets],
            "notes": NOTES,
        },
    }


NOTES = [
    "Weeks start on Monday (UTC); the week in progress is left out of the history. A log whose last event "
    "is more than 4 weeks old is forecast from the end of its last week.",
    "Effort counts only the steps the log records (assess, re-score, prioritise, task, review): an owner's "
    "work on a case between reviews is not in it, so the owners' figure is a floor.",
    "Each series' model is chosen by a rolling-origin backtest on its own last weeks (see backtest).",
    "Staffing is Erlang C (M/M/c): arrivals at random over the working week, one queue per pool, first come "
    "first served; the assessment target is applied to every assessment (P1s can be taken first, so for "
    "them it is conservative).",
    "Analysts assess and re-score; owners prioritise, task and review (the pathfinder's 2 Met Intelligence "
    "FTE and 10 centre FTE).",
    "A target of T elapsed hours allows T x open_hours / 168 working hours of waiting; each FTE spends "
    "productive_share of their time on this work.",
]


def _staffing(
    log: demand_log.Demand,
    inputs: Inputs,
    used: dict[str, dict[str, Any]],
    overall: list[float],
    future: list[Any],
) -> dict[str, Any]:
    requests = max(1, log.requests)
    pools: dict[str, dict[str, Any]] = {}
    for pool in ("analysts", "owners"):
        stages = [s for s, p in demand_log.STAGES.items() if p == pool]
        per_request = {s: sum(n for (st, _), n in log.steps.items() if st == s) / requests for s in stages}
        items = sum(per_request.values())
        work = sum(per_request[s] * used[s]["minutes"] for s in stages)
        minutes = work / items if items else 0.0
        target = next((t for t in inputs.targets if POOL_OF_TARGET[t.stage] == pool), None)
        target = target or next(t for t in DEFAULT_TARGETS if POOL_OF_TARGET[t.stage] == pool)
        pools[pool] = {
            "stages": stages,
            "items_per_request": round(items, 3),
            "minutes_per_item": round(minutes, 1),
            "target": {"stage": target.stage, "share": target.share, "hours": target.hours},
            "current": inputs.current[pool],
            "_target": target,
        }
    weeks = []
    for week, demand in zip(future, overall, strict=True):
        row: dict[str, Any] = {"week": week.isoformat(), "requests": demand}
        for pool, p in pools.items():
            items = demand * p["items_per_request"]
            row[f"{pool}_items"] = round(items, 1)
            row[f"{pool}_needed"] = needed(items, p["minutes_per_item"], p["_target"], inputs.assumptions)
            met = attainment(p["current"], items, p["minutes_per_item"], p["_target"], inputs.assumptions)
            row[f"{pool}_current_breach_share"] = round(1 - met, 4)
        weeks.append(row)
    peak = max(overall) if overall else 0.0
    for pool, p in pools.items():
        target = p.pop("_target")
        items = peak * p["items_per_request"]
        top = max([r[f"{pool}_needed"] for r in weeks] + [p["current"]]) + 4
        p["needed_peak"] = max(r[f"{pool}_needed"] for r in weeks)
        p["curve"] = [
            {
                "staff": n,
                "attainment": round(
                    attainment(n, items, p["minutes_per_item"], target, inputs.assumptions), 4
                ),
            }
            for n in range(0, top + 1)
        ]
        p["current_breach_share_mean"] = round(
            statistics.fmean(r[f"{pool}_current_breach_share"] for r in weeks), 4
        )
    return {"pools": pools, "weeks": weeks}


def with_scenario(inputs: Inputs, **changes: float) -> Inputs:
    return replace(inputs, scenario=replace(inputs.scenario, **changes))
