"""The FBC forecast and staffing (#16): intervals that cover the simulation's true weekly rates, Erlang C
against published worked examples, staffing that moves the right way, and the refusals."""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from demo.simulation import LONDON, PATHFINDER_START, Pathfinder, run_demo
from workflow.calendar import calendar_for
from workflow.errors import Forbidden, InvalidInput, TooLittleHistory
from workflow.principals import Principal
from workflow.reports import OPERATOR, fbc
from workflow.reports.forecast import forecast
from workflow.reports.staffing import (
    Assumptions,
    Target,
    attainment,
    erlang_c,
    mean_wait,
    needed,
    service_level,
)

WEEKS, REQUESTS, SEED = 52, 4000, 2018


def _simulated() -> tuple[list[int], list[float]]:
    """The simulation's own arrivals (demo.simulation.Pathfinder._arrivals, run on its parameters without
    a database) and the true weekly rates they are drawn around: the total shared out in proportion to
    the ramp (0.45 + 0.11 a week, capped at 1) times 1 - 0.15 a weekday bank holiday (its jitter, uniform
    on 0.85-1.15, has mean 1)."""
    calendar = calendar_for()
    start = datetime(PATHFINDER_START.year, PATHFINDER_START.month, PATHFINDER_START.day, tzinfo=LONDON)
    start = start.astimezone(UTC)
    stub = SimpleNamespace(
        weeks=WEEKS, requests=REQUESTS, start=start, calendar=calendar, rng=random.Random(SEED)
    )
    counts = [0] * WEEKS
    for at in Pathfinder._arrivals(stub):  # type: ignore[arg-type]
        counts[int((at - start) / timedelta(weeks=1))] += 1
    weights = []
    for w in range(WEEKS):
        monday = (start + timedelta(weeks=w)).date()
        holidays = sum(1 for d in range(5) if not calendar.is_working_day(monday + timedelta(d)))
        weights.append(min(1.0, 0.45 + 0.11 * w) * (1 - 0.15 * holidays))
    return counts, [REQUESTS * w / sum(weights) for w in weights]


def test_the_interval_covers_the_true_rate_on_most_held_out_weeks() -> None:
    counts, rates = _simulated()
    assert sum(counts) == REQUESTS
    for history in (26, 34, 44):  # three origins, each forecasting the next 8 weeks unseen
        fit = forecast(counts[:history], horizon=8)
        truth = rates[history : history + 8]
        covered80 = sum(lo <= r <= hi for lo, hi, r in zip(fit.lo80, fit.hi80, truth, strict=True))
        covered95 = sum(lo <= r <= hi for lo, hi, r in zip(fit.lo95, fit.hi95, truth, strict=True))
        assert covered80 >= 0.8 * 8, (history, fit.model, fit.lo80, fit.hi80, truth)
        assert covered95 >= covered80
        assert all(lo95 <= lo80 <= m <= hi80 <= hi95 for lo95, lo80, m, hi80, hi95 in
                   zip(fit.lo95, fit.lo80, fit.mean, fit.hi80, fit.hi95, strict=True))  # fmt: skip


def test_the_backtest_reports_the_baseline_beside_the_candidates() -> None:
    counts, _ = _simulated()
    fit = forecast(counts[:30], horizon=26)
    assert fit.backtest.holdout == 8
    assert fit.backtest.baseline == "naive (last week's count)"  # under two years: no seasonal naive
    assert set(fit.backtest.errors) == {"baseline", "count", "ets"}
    # The naive baseline's error, worked out by hand: |y_t - y_{t-1}| over the last 8 weeks.
    held = counts[22:30]
    mae = sum(abs(a - b) for a, b in zip(held, counts[21:29], strict=True)) / 8
    assert fit.backtest.errors["baseline"]["mae"] == pytest.approx(mae, abs=1e-3)
    chosen = fit.backtest.errors[fit.model]["mae"]
    assert chosen == min(fit.backtest.errors[m]["mae"] for m in ("count", "ets"))  # type: ignore[type-var]
    assert len(fit.mean) == 26


def test_two_years_of_history_are_backtested_against_the_seasonal_naive() -> None:
    counts, _ = _simulated()
    long = counts + counts + counts[:10]
    fit = forecast(long, horizon=4)
    assert fit.backtest.baseline.startswith("seasonal naive")
    held = long[-8:]
    mae = sum(abs(a - b) for a, b in zip(held, long[-8 - 52 : -52], strict=True)) / 8
    assert fit.backtest.errors["baseline"]["mae"] == pytest.approx(mae, abs=1e-3)


def test_a_sparse_series_falls_back_to_the_count_model_and_says_so() -> None:
    # A BCU with about one request a month.
    counts = [1 if w % 4 == 0 else 0 for w in range(26)]
    began = time.process_time()
    fit = forecast(counts, horizon=26)
    assert time.process_time() - began < 5  # a loose guard against a fit looping, not a timing test
    assert fit.model == "count" and fit.note is not None and "sparse" in fit.note
    assert all(0 <= lo <= m <= hi for lo, m, hi in zip(fit.lo95, fit.mean, fit.hi95, strict=True))
    assert fit.mean[0] == pytest.approx(round(sum(counts[-13:]) / 13, 2))


def test_under_eight_weeks_no_forecast() -> None:
    with pytest.raises(ValueError):
        forecast([5, 6, 7, 5, 6, 7, 5], horizon=26)


# -- Erlang C ---------------------------------------------------------------------------------------------


def test_erlang_c_matches_the_call_centre_helper_worked_example() -> None:
    # Call Centre Helper, "Erlang C formula - made simple": 100 calls in 30 minutes, 180 s average handling
    # time, 20 s target: 10 Erlangs. 11 agents: 68.21% of calls wait, 39.0% answered within 20 s, an
    # average speed of answer of 122.8 s; 14 agents: 88.8% within 20 s, 7.8 s.
    load = 100 * 180 / (30 * 60)
    assert load == 10
    assert round(erlang_c(11, load) * 100, 2) == 68.21
    assert round(service_level(11, load, 20, 180) * 100, 1) == 39.0
    assert round(mean_wait(11, load, 180), 1) == 122.8
    assert round(service_level(14, load, 20, 180) * 100, 1) == 88.8
    assert round(mean_wait(14, load, 180), 1) == 7.8


def test_erlang_c_matches_the_360_calls_worked_example() -> None:
    # The step-by-step Erlang C example: 360 calls a half hour, 4-minute calls, 55 agents, 15 s target:
    # 48 Erlangs, occupancy 87.3%, probability of waiting 0.2387, ASA 8.2 s, service level 84.6%.
    load = 360 / 30 * 4
    assert load == 48
    assert round(load / 55, 3) == 0.873
    assert round(erlang_c(55, load), 4) == 0.2387
    assert round(mean_wait(55, load, 240), 1) == 8.2
    assert round(service_level(55, load, 15, 240) * 100, 1) == 84.6


def test_erlang_c_at_its_edges() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: the chance of waiting is the utilisation
    assert erlang_c(3, 3.0) == 1.0 and service_level(3, 3.0, 10, 1) == 0.0  # unstable: all breach
    assert math.isinf(mean_wait(2, 2.5, 1))
    assert erlang_c(4, 0) == 0.0


def test_staffing_grows_with_demand_and_falls_with_effort() -> None:
    target, a = Target("assess", 0.9, 24), Assumptions()
    by_demand = [needed(d, 90, target, a) for d in (10, 40, 80, 160, 320)]
    assert by_demand == sorted(by_demand) and by_demand[0] < by_demand[-1]
    by_effort = [needed(80, m, target, a) for m in (180, 120, 90, 60, 30)]
    assert by_effort == sorted(by_effort, reverse=True) and by_effort[0] > by_effort[-1]
    staff = needed(80, 90, target, a)
    assert attainment(staff, 80, 90, target, a) >= 0.9 > attainment(staff - 1, 80, 90, target, a)


@pytest.mark.parametrize(
    "text",
    [
        "assess=100@24",
        "assess=100@0",
        "review=0@72",
        "assess=90@0",
        "assess=90",
        "triage=90@24",
        "assess=150@24",
    ],
)
def test_impossible_or_malformed_targets_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        fbc.parse_target(text)
    assert [p.field for p in refused.value.problems] == ["target"]
    assert refused.value.status == 422


def test_targets_are_read() -> None:
    assert fbc.parse_target("assess=90@24") == Target("assess", 0.9, 24.0)
    assert fbc.parse_target(" review = 95% @ 72h ") == Target("review", 0.95, 72.0)


# -- on a simulated pathfinder's log ----------------------------------------------------------------------


def test_the_outlook_on_a_simulated_pathfinder(engine: Engine) -> None:
    summary = run_demo(engine, seed=4, weeks=10, requests=150, passwords=False)
    with Session(engine) as session:
        out = fbc.outlook(session, who=OPERATOR)
        grown = fbc.outlook(session, who=OPERATOR, inputs=fbc.Inputs(scenario=fbc.Scenario(demand_growth=50)))
        quicker = fbc.outlook(
            session, who=OPERATOR, inputs=fbc.Inputs(scenario=fbc.Scenario(assessment_effort=-50))
        )
        themed = fbc.outlook(session, who=OPERATOR, inputs=fbc.Inputs(scenario=fbc.Scenario(new_theme=20)))
        with pytest.raises(Forbidden):
            fbc.outlook(session, who=Principal("req.ne", frozenset({"requester"}), unit_code="NE"))
    assert out["history"]["requests"] == summary.cases == 150
    assert 9 <= out["history"]["weeks"] <= 10
    overall = out["series"][0]
    assert overall["kind"] == "overall" and sum(overall["history"]) <= 150 and len(overall["mean"]) == 26
    kinds = {s["kind"] for s in out["series"]}
    assert kinds == {"overall", "theme", "bcu", "hub"}
    assert any(s["note"] and "sparse" in s["note"] for s in out["series"])
    # The demo records no effort: every stage says so and uses the stated assumption.
    assert all(u["source"].startswith("assumed") for u in out["effort"]["used"].values())
    assert out["effort"]["used"]["assess"]["minutes"] == fbc.ASSUMED_MINUTES["assess"]
    pools = out["staffing"]["pools"]
    assert pools["analysts"]["current"] == 2 and pools["owners"]["current"] == 10
    curve = [p["attainment"] for p in pools["analysts"]["curve"]]
    assert curve == sorted(curve)
    for week in out["staffing"]["weeks"]:
        assert 0 <= week["analysts_current_breach_share"] <= 1
    assert grown["series"][0]["mean"][0] == pytest.approx(overall["mean"][0] * 1.5, abs=0.02)
    assert themed["series"][0]["mean"][0] == pytest.approx(overall["mean"][0] + 20, abs=0.02)
    assert grown["staffing"]["pools"]["analysts"]["needed_peak"] >= pools["analysts"]["needed_peak"]
    assert quicker["staffing"]["pools"]["analysts"]["needed_peak"] <= pools["analysts"]["needed_peak"]
    assert quicker["effort"]["used"]["assess"]["minutes"] == fbc.ASSUMED_MINUTES["assess"] / 2


def test_too_little_history_is_a_plain_refusal(engine: Engine) -> None:
    run_demo(engine, seed=4, weeks=3, requests=20, passwords=False)
    with Session(engine) as session, pytest.raises(TooLittleHistory) as refused:
        fbc.outlook(session, who=OPERATOR)
    assert refused.value.status == 409
    assert "needs at least 8" in refused.value.public_detail()
