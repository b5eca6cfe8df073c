"""The assembly: the fold's aggregates as the report's JSON document, week by week over the period.

Every weekly table has one entry per week of the period and per key it saw, and is built by lookups in
the fold's counters (no scan of a list per week), so the work is linear in the size of the report, which
the period's bound (`period.MAX_WEEKS`) keeps small. `flatten` turns the document into CSV rows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from workflow.clocks import SLA_STAGES
from workflow.reports.fold import HARM_BINS, LIKELIHOOD_TOTALS, STAGES, THROUGHPUT, Fold
from workflow.reports.period import Period, week_name

DEFINITIONS = {
    "period": "[from, to): figures count what happened in the period; the log is read as at `to`",
    "week": "Monday (UTC) that starts the week",
    "weeks": "the period's weeks from the log's first event to now (or its last event); at most 262",
    "hours": "elapsed wall-clock hours",
    "median": "middle value (mean of the two middle ones)",
    "p90": "nearest rank: value at position ceil(0.9 n) of the sorted values",
    "stage band": "band held just after the event that ended the stage; 'unscored' if none",
    "review on time": "recorded by cycle start (task/continue) + the policy's review days",
    "backlog": "cases submitted and not yet closed, rejected or withdrawn at the end of the week",
    "time to acknowledge": "from the event that raised an escalation to its acknowledgement",
}


def stats(values: list[float]) -> dict[str, Any]:
    """n, median and p90 (nearest rank) of `values`, in hours rounded to 0.1."""
    if not values:
        return {"n": 0, "median": None, "p90": None}
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    p90 = ordered[max(0, math.ceil(0.9 * n) - 1)]
    return {"n": n, "median": round(median, 1), "p90": round(p90, 1)}


def _by_week(counter: Counter[tuple[str, int]], weeks: Sequence[int], names: Sequence[str]) -> dict[str, Any]:
    keys = sorted({k for k, _ in counter if k is not None})
    # Counter lookups of absent keys return 0 without storing them: one dict lookup per cell.
    return {k: {name: counter[(k, w)] for w, name in zip(weeks, names, strict=True)} for k in keys}


def _backlog(fold: Fold, weeks: range, names: Sequence[str]) -> dict[str, int]:
    """Open cases at each week's end: every case opened and not ended by then, including those opened
    before the period (the log is read from its beginning)."""
    if not weeks:
        return {}
    running = 0
    # Weeks before the period with openings or endings, in order; then the period's weeks one by one.
    for w in sorted(w for w in set(fold.opened) | set(fold.ended) if w < weeks.start):
        running += fold.opened[w] - fold.ended[w]
    backlog = {}
    for w, name in zip(weeks, names, strict=True):
        running += fold.opened[w] - fold.ended[w]
        backlog[name] = running
    return backlog


def assemble(fold: Fold, *, period: Period, weeks: range, now: datetime) -> dict[str, Any]:
    """The report document for `period` from the fold's aggregates; `weeks` are the period's weeks."""
    names = [week_name(w) for w in weeks]
    demand = fold.demand()
    # "As at" the end of the period (the log cannot speak for later than now), or the last event of an
    # open-ended report.
    as_at = min(period.end, max(now, fold.last_at)) if period.end is not None else fold.last_at
    backlog = _backlog(fold, weeks, names)
    bands = sorted({b for _, b in fold.stage_hours} | {b for _, b, _ in fold.sla})
    flow_stages = {
        stage: {
            band: stats(fold.stage_hours[(stage, band)])
            for band in bands
            if (stage, band) in fold.stage_hours
        }
        for stage in STAGES
    }
    sla = {
        stage: {
            band: {k: fold.sla[(stage, band, k)] for k in ("met", "breached")}
            for band in bands
            if fold.sla[(stage, band, "met")] or fold.sla[(stage, band, "breached")]
        }
        for stage in SLA_STAGES
    }
    review_bands = sorted({b for b, _ in fold.reviews})
    all_bands = sorted(set(fold.assessment_bands) | {b for pair in fold.movement for b in pair})
    return {
        "period": {
            "from": period.start.isoformat() if period.start is not None else None,
            "to": period.end.isoformat() if period.end is not None else None,
            "weeks": names,
        },
        "source": {"events_read": fold.events, "cases_read": fold.cases},
        "definitions": DEFINITIONS,
        "demand": {
            "requests_per_week": {
                name: demand["requests"][("", w)] for w, name in zip(weeks, names, strict=True)
            },
            "requests_total": sum(demand["requests"][("", w)] for w in weeks),
            "by_unit": _by_week(demand["unit"], weeks, names),
            "by_theme": _by_week(demand["theme"], weeks, names),
            "by_capability": _by_week(demand["capability"], weeks, names),
            "by_hub": _by_week(demand["hub"], weeks, names),
            "backlog_at_week_end": backlog,
        },
        "flow": {
            "time_in_stage_hours": flow_stages,
            "throughput_per_week": {
                trig: {name: fold.throughput[(trig, w)] for w, name in zip(weeks, names, strict=True)}
                for trig in THROUGHPUT
            },
        },
        "compliance": {
            "sla": sla,
            "reviews": {
                band: {k: fold.reviews[(band, k)] for k in ("on_time", "late")} for band in review_bands
            },
            "reviews_overdue_open": sum(1 for due in fold.open_review_due if due < as_at),
            "escalations": {
                "raised": sum(fold.raised.values()),
                "raised_by_source": _count_by(fold.raised, 0),
                "raised_by_level": _count_by(fold.raised, 1),
                "acknowledged": fold.esc_counts["acknowledged"],
                "time_to_acknowledge_hours": stats(fold.ack_hours),
                "snoozed": fold.esc_counts["snoozed"],
                "ladder_steps": fold.esc_counts["ladder_steps"],
                "reached_tasking_chair": fold.esc_counts["reached_tasking_chair"],
                "resolved_by_supervisor": fold.esc_counts["resolved_by_supervisor"],
                "resolved_by_case_change": fold.esc_counts["resolved_by_case_change"],
            },
        },
        "morile": {
            "first_assessment_bands": dict(sorted(fold.first_bands.items())),
            "assessments_by_band": dict(sorted(fold.assessment_bands.items())),
            "band_movement": {
                b: {a: fold.movement[(b, a)] for a in all_bands}
                for b in all_bands
                if any(fold.movement[(b, a)] for a in all_bands)
            },
            "risk_matrix": {
                "cases": {
                    _bin_name(i): {str(lt): fold.cells[(i, lt)] for lt in LIKELIHOOD_TOTALS}
                    for i in range(len(HARM_BINS))
                },
            },
            "response_escalated": {
                "assessments": sum(fold.response_escalated.values()),
                "of": sum(fold.assessment_bands.values()),
                "by_band": dict(sorted(fold.response_escalated.items())),
            },
        },
        "outcomes": {
            "closed_by_outcome": dict(sorted(fold.outcomes.items())),
            "closed_by_strand": dict(sorted(fold.closed_strands.items())),
            "actions_by_strand": dict(sorted(fold.action_strands.items())),
        },
        "workload": {
            "assessments_per_analyst_per_week": _by_week(fold.workload, weeks, names),
            "open_by_owner": dict(sorted(fold.open_owner.items())),
            "open_by_hub": dict(sorted(fold.open_hub.items())),
            "open_by_state": {s: fold.open_state[s] for s in STAGES if fold.open_state[s]},
        },
    }


def _bin_name(index: int) -> str:
    lo, hi = HARM_BINS[index]
    return f"harm {lo}-{min(hi, 60)}"


def _count_by(counter: Counter[tuple[str, int]], index: int) -> dict[str, int]:
    out: Counter[str] = Counter()
    for key, n in counter.items():
        out[str(key[index])] += n
    return dict(sorted(out.items()))


def flatten(report: dict[str, Any]) -> Iterator[tuple[str, str, str, str, str, Any]]:
    """The report as long-form rows (section, measure, key1, key2, key3, value) for CSV."""
    for section, body in report.items():
        if section in ("period", "definitions") or not isinstance(body, dict):
            continue
        for measure, value in body.items():
            yield from _leaves(section, measure, [], value)


def _leaves(
    section: str, measure: str, keys: list[str], value: Any
) -> Iterator[tuple[str, str, str, str, str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(section, measure, [*keys, str(k)], v)
    else:
        padded = [*keys, "", "", ""][:3]
        if len(keys) > 3:
            padded[2] = "/".join(keys[2:])
        yield (section, measure, padded[0], padded[1], padded[2], value)
