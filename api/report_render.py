"""The pathfinder evaluation rendered for people: JSON, CSV for a spreadsheet, or an HTML page with
server-drawn SVG charts (no script, no CDN). Shared by `sctac report`, the report page and the API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from workflow import reports
from workflow.errors import FieldProblem, InvalidInput

TEMPLATES = Path(__file__).parent / "templates"
CSV_HEADER = ("section", "measure", "key1", "key2", "key3", "value")


def period(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """A report period given as days (`to` exclusive) as the UTC midnights the report counts between."""
    if start and end and start >= end:
        raise InvalidInput([FieldProblem("from", "must be before `to`")])
    return _midnight(start), _midnight(end)


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def filename(start: date | None, end: date | None, fmt: str) -> str:
    return f"sctac-evaluation-{start or 'start'}-{end or 'now'}.{fmt}"


def render(figures: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(figures, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return render_csv(figures)
    return render_html(figures)


def render_csv(figures: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(reports.flatten(dict(figures)))
    return buffer.getvalue()


# --- HTML ------------------------------------------------------------------------------------------------


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_env.filters["label"] = lambda s: str(s).replace("_", " ")


def render_html(figures: Mapping[str, Any], *, controls: Mapping[str, Any] | None = None) -> str:
    """The report as one self-contained page. `controls` (the web page's period form and download
    links: their `from` and `to` days) are left out of the file `sctac report` writes."""
    demand = figures["demand"]
    charts = {
        "requests": bar_chart(demand["requests_per_week"], title="Requests per week"),
        "backlog": line_chart(demand["backlog_at_week_end"], title="Open cases at week end"),
        "bands": bar_chart(figures["morile"]["first_assessment_bands"], title="First assessment band"),
        "outcomes": bar_chart(figures["outcomes"]["closed_by_outcome"], title="Closed cases by outcome"),
    }
    return _env.get_template("report.html").render(r=figures, charts=charts, controls=controls)


def _labels(keys: Sequence[str]) -> list[str]:
    # Week names are dates: show day and month only; thin them so they never overlap.
    short = [k[5:] if len(k) == 10 and k[4] == "-" else k for k in keys]
    step = max(1, len(short) // 13)
    return [s if i % step == 0 else "" for i, s in enumerate(short)]


def bar_chart(series: Mapping[str, int], *, title: str, width: int = 640, height: int = 220) -> Markup:
    """A bar chart as inline SVG; every label is escaped."""
    keys = list(series)
    peak = max([*series.values(), 1])
    left, bottom, top = 40, 40, 24
    inner_w, inner_h = width - left - 10, height - bottom - top
    slot = inner_w / max(len(keys), 1)
    parts = [_svg_open(width, height, title), _axis(left, top, inner_h, peak)]
    for i, (key, label) in enumerate(zip(keys, _labels(keys), strict=True)):
        value = series[key]
        h = inner_h * value / peak
        x = left + i * slot + slot * 0.15
        y = top + inner_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(key)}: {value}</title></rect>"
        )
        if label:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 14}" class="tick" '
                f'text-anchor="middle">{escape(label.replace("_", " "))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(series: Mapping[str, int], *, title: str, width: int = 640, height: int = 220) -> Markup:
    keys = list(series)
    peak = max([*series.values(), 1])
    left, bottom, top = 40, 40, 24
    inner_w, inner_h = width - left - 10, height - bottom - top
    step = inner_w / max(len(keys) - 1, 1)
    points = " ".join(
        f"{left + i * step:.1f},{top + inner_h - inner_h * series[k] / peak:.1f}" for i, k in enumerate(keys)
    )
    parts = [_svg_open(width, height, title), _axis(left, top, inner_h, peak)]
    parts.append(f'<polyline points="{points}" class="line" fill="none"/>')
    for i, label in enumerate(_labels(keys)):
        if label:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - bottom + 14}" class="tick" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
        f'<text x="4" y="14" class="chart-title">{escape(title)}</text>'
    )


def _axis(left: int, top: int, inner_h: float, peak: int) -> str:
    return (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" class="axis"/>'
        f'<text x="{left - 4}" y="{top + 4}" class="tick" text-anchor="end">{peak}</text>'
        f'<text x="{left - 4}" y="{top + inner_h}" class="tick" text-anchor="end">0</text>'
    )
