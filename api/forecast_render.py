"""The FBC forecast (#16) for people: JSON, CSV for the business case spreadsheet, or an HTML page with
server-drawn SVG charts (fan chart, staffing against demand, SLA attainment by staff level). Shared by
`sctac forecast`, the page and the API; the figures are `workflow.reports.fbc.outlook`'s."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response

from api.charts import fan_chart, series_chart
from api.report_render import ENV, MEDIA_TYPES
from workflow.errors import FieldProblem, InvalidInput
from workflow.reports import fbc
from workflow.reports.staffing import Assumptions

CSV_HEADER = ("section", "measure", "key1", "key2", "key3", "value")
_BANDS = ("mean", "lo80", "hi80", "lo95", "hi95")


def rows(out: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """Every figure of the forecast as (section, measure, key1, key2, key3, value)."""
    for s in out["series"]:
        name = f"{s['kind']}:{s['key']}"
        for week, n in zip(out["weeks"], s["history"], strict=False):
            yield ("history", "requests", name, week, "", n)
        for band in _BANDS:
            for week, v in zip(out["future"], s[band], strict=True):
                yield ("forecast", band, name, week, s["model"], v)
        for model, errors in ((s.get("backtest") or {}).get("errors") or {}).items():
            for measure, v in errors.items():
                yield (
                    "backtest",
                    measure,
                    name,
                    model,
                    s["backtest"]["baseline"] if model == "baseline" else "",
                    v,
                )
    for r in out["effort"]["by_stage_and_band"]:
        for measure in ("steps", "recorded", "mean_minutes", "median_minutes"):
            yield ("effort", measure, r["stage"], r["band"], "", r[measure])
    for stage, used in out["effort"]["used"].items():
        yield ("effort_used", "minutes", stage, used["source"], "", used["minutes"])
    for week in out["staffing"]["weeks"]:
        for measure, v in week.items():
            if measure != "week":
                yield ("staffing", measure, week["week"], "", "", v)
    for pool, p in out["staffing"]["pools"].items():
        for measure in (
            "current",
            "needed_peak",
            "items_per_request",
            "minutes_per_item",
            "current_breach_share_mean",
        ):
            yield ("pool", measure, pool, "", "", p[measure])
        for point in p["curve"]:
            yield ("attainment", "share_within_target", pool, point["staff"], "", point["attainment"])
    for k, v in out["scenario"].items():
        yield ("scenario", k, "", "", "", v)
    a = out["assumptions"]
    yield ("assumption", "open_hours", "", "", "", a["open_hours"])
    yield ("assumption", "productive_share", "", "", "", a["productive_share"])
    for stage, minutes in a["assumed_minutes"].items():
        yield ("assumption", "assumed_minutes", stage, "", "", minutes)
    for pool, staff in a["current"].items():
        yield ("assumption", "current_staff", pool, "", "", staff)
    for t in a["targets"]:
        yield ("assumption", "target", t["stage"], t["share"], t["hours"], "")


def render_csv(out: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows(out):
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def charts(out: Mapping[str, Any]) -> dict[str, Any]:
    overall = out["series"][0]
    pools = out["staffing"]["pools"]
    weeks = out["staffing"]["weeks"]
    drawn: dict[str, Any] = {
        "fan": fan_chart(
            "Requests per week: history, then the forecast with 80% and 95% intervals",
            out["weeks"],
            overall["history"],
            out["future"],
            {b: overall[b] for b in _BANDS},
        )
    }
    for pool in pools:
        drawn[f"{pool}_needed"] = series_chart(
            f"{pool.capitalize()} needed per week at the forecast demand (now: {pools[pool]['current']})",
            {w["week"]: w[f"{pool}_needed"] for w in weeks},
        )
        drawn[f"{pool}_curve"] = series_chart(
            f"{pool.capitalize()}: % of items within the target, by FTE (at the peak forecast week)",
            {str(p["staff"]): round(p["attainment"] * 100) for p in pools[pool]["curve"]},
            kind="line",
        )
    return drawn


def render_html(
    out: Mapping[str, Any],
    *,
    controls: Mapping[str, Any] | None = None,
    site: Mapping[str, Any] | None = None,
) -> str:
    return ENV.get_template("forecast.html").render(r=out, charts=charts(out), controls=controls, site=site)


def render(out: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(out, indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return render_csv(out)
    return render_html(out)


def download(out: Mapping[str, Any], fmt: str) -> Response:
    name = f"sctac-forecast-{out['history']['to']}-{out['horizon']}w.{fmt}"
    return Response(
        render(out, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _number(field: str, text: str | None, default: float) -> float:
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput([FieldProblem(field, f"{text!r} is not a number")]) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput([FieldProblem(field, f"{text!r} is not a number")])
    return value


def _whole(field: str, text: str | None, default: int) -> int:
    value = _number(field, text, default)
    if value != int(value):
        raise InvalidInput([FieldProblem(field, f"{text!r} is not a whole number")])
    return int(value)


def inputs_from(query: Mapping[str, Any], targets: list[str]) -> fbc.Inputs:
    """The outlook's inputs from a page's or the API's query string (text, so a bad value is named)."""
    chosen = tuple(fbc.parse_target(t) for t in targets if t.strip())
    # One target a stage: the last given wins; a stage left out keeps its default.
    by_stage = {t.stage: t for t in (*fbc.DEFAULT_TARGETS, *chosen)}
    inputs = fbc.Inputs(
        horizon=_whole("weeks", query.get("weeks"), 26),
        targets=tuple(by_stage.values()),
        scenario=fbc.Scenario(
            _number("demand_growth", query.get("demand_growth"), 0.0),
            _number("new_theme", query.get("new_theme"), 0.0),
            _number("assessment_effort", query.get("assessment_effort"), 0.0),
        ),
        assumptions=Assumptions(
            open_hours=_number("open_hours", query.get("open_hours"), Assumptions.open_hours),
            productive_share=_number(
                "productive_share", query.get("productive_share"), Assumptions.productive_share
            ),
        ),
        current={
            "analysts": _whole("analysts", query.get("analysts"), fbc.PATHFINDER["analysts"]),
            "owners": _whole("owners", query.get("owners"), fbc.PATHFINDER["owners"]),
        },
    )
    inputs.check()
    return inputs


def controls_of(inputs: fbc.Inputs) -> dict[str, Any]:
    """The page's form, filled with what was used, and the query that reproduces it (for downloads)."""
    targets = {t.stage: f"{t.stage}={t.share * 100:g}@{t.hours:g}" for t in inputs.targets}
    values = {
        "weeks": inputs.horizon,
        "demand_growth": f"{inputs.scenario.demand_growth:g}",
        "new_theme": f"{inputs.scenario.new_theme:g}",
        "assessment_effort": f"{inputs.scenario.assessment_effort:g}",
        "analysts": inputs.current["analysts"],
        "owners": inputs.current["owners"],
        "productive_share": f"{inputs.assumptions.productive_share:g}",
        "open_hours": f"{inputs.assumptions.open_hours:g}",
    }
    pairs = [*values.items(), *(("target", t) for t in targets.values())]
    return {
        **values,
        "assess_target": targets.get("assess", ""),
        "review_target": targets.get("review", ""),
        "query": "/reports/forecast?" + urlencode(pairs),
    }
