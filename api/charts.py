"""Geometry for every SVG picture the pages and the evaluation report draw (no chart library, no CDN).

Python decides sizes and positions; the macros in `templates/_charts.html` write the elements, so every
label passes through autoescaping like any other text on the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rules import Matrix


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_height: int

    @property
    def empty(self) -> bool:
        return not any(b.value for b in self.bars)


def bar_chart(title: str, series: Mapping[str, int], *, width: int = 520, label_width: int = 150) -> BarChart:
    bar_height, gap, top = 22, 8, 8
    peak = max([*series.values(), 1])
    room = width - label_width - 60
    bars = [
        Bar(label, value, top + i * (bar_height + gap), room * value / peak)
        for i, (label, value) in enumerate(series.items())
    ]
    height = top * 2 + max(len(bars), 1) * (bar_height + gap)
    return BarChart(title, bars, width, height, label_width, bar_height)


@dataclass(frozen=True)
class Column:
    key: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    """A label under the axis: its centre and its lines (a long category name wraps onto several)."""

    x: float
    lines: tuple[str, ...]

    @property
    def width(self) -> float:
        return max(text_width(line) for line in self.lines)


@dataclass(frozen=True)
class SeriesChart:
    """Values along an axis (weeks, bands, outcomes) as columns or as a line, with the peak marked."""

    kind: Literal["columns", "line"]
    title: str
    width: int
    height: int
    left: int
    top: int
    bottom: int
    inner_h: float
    peak: int
    columns: list[Column]
    ticks: list[Tick]  # thinned (weeks) or wrapped (categories) so that no two labels overlap

    @property
    def points(self) -> str:
        return " ".join(f"{c.x:.1f},{c.y:.1f}" for c in self.columns)


# Tick labels are 10 px system-ui; 6 px a character is wider than its average glyph, so an estimate from
# it keeps labels apart rather than just touching.
CHAR_WIDTH = 6.0
LINE_HEIGHT = 11
TICK_GAP = 6.0


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _is_day(key: str) -> bool:
    return len(key) == 10 and key[4] == "-" and key[7] == "-"


def _wrap(text: str, room: float) -> tuple[str, ...]:
    """`text` in lines no wider than `room` where its words allow (a single long word keeps its line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}") <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return tuple(lines) or ("",)


def _ticks(keys: Sequence[str], xs: Sequence[float], slot: float) -> list[Tick]:
    """Labels for the axis: week names (dates) show day and month and are thinned to every n-th week so
    they never overlap; category names are wrapped to their slot, and thinned too if still too wide."""
    if not keys:
        return []
    if all(_is_day(k) for k in keys):
        labels: list[tuple[str, ...]] = [(k[5:],) for k in keys]
    else:
        labels = [_wrap(k.replace("_", " "), slot - TICK_GAP) for k in keys]
    widest = max(max(text_width(line) for line in label) for label in labels)
    step = max(1, math.ceil((widest + TICK_GAP) / slot)) if slot > 0 else len(keys)
    return [Tick(x, label) for i, (x, label) in enumerate(zip(xs, labels, strict=True)) if i % step == 0]


def series_chart(
    title: str,
    series: Mapping[str, int],
    *,
    kind: Literal["columns", "line"] = "columns",
    width: int = 640,
    height: int = 220,
) -> SeriesChart:
    keys = list(series)
    peak = max([*series.values(), 1])
    left, top = 40, 24
    if keys and not all(_is_day(k) for k in keys):
        # Categories are never thinned away: widen the picture until each one's longest word fits its
        # slot (the page scales the picture to its width, which keeps the labels apart).
        word = max(text_width(w) for k in keys for w in k.replace("_", " ").split() or [""])
        width = max(width, left + 10 + math.ceil(len(keys) * (word + TICK_GAP)))
    inner_w = width - left - 10
    columns = []
    if kind == "columns":
        slot = inner_w / max(len(keys), 1)
        xs = [left + i * slot + slot * 0.5 for i in range(len(keys))]
    else:
        slot = inner_w / max(len(keys) - 1, 1)
        xs = [left + i * slot for i in range(len(keys))]
    ticks = _ticks(keys, xs, slot)
    lines = max((len(t.lines) for t in ticks), default=1)
    # Room under the axis for the tallest label; the plot keeps its height, the picture grows.
    bottom = 20 + LINE_HEIGHT * lines
    height += bottom - 40
    inner_h = height - bottom - top
    for key, x in zip(keys, xs, strict=True):
        h = inner_h * series[key] / peak
        if kind == "columns":
            columns.append(Column(key, series[key], x - slot * 0.35, top + inner_h - h, slot * 0.7, h))
        else:
            columns.append(Column(key, series[key], x, top + inner_h - h, 0, 0))
    return SeriesChart(kind, title, width, height, left, top, bottom, inner_h, peak, columns, ticks)


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    count: int
    band: str
    harm_from: float
    harm_to: float
    likelihood: int


@dataclass(frozen=True)
class Heatmap:
    cells: list[Cell]
    columns: list[tuple[float, str]]  # (x centre, label)
    rows: list[tuple[float, int]]  # (y centre, likelihood total)
    cell_w: int
    cell_h: int
    left: int
    top: int
    width: int
    height: int
    total: int
    bands: list[tuple[str, str]]


def heatmap(matrix: Matrix, counts: Mapping[tuple[float, int], int], *, bin_width: float = 5.0) -> Heatmap:
    """Open cases per (harm total bin, likelihood total), each cell coloured by the band its middle
    scores under `matrix` (and labelled with that band, so colour is never the only signal)."""
    harm_max = matrix.harm_total_max
    like_max = matrix.likelihood_total_max
    n_bins = max(1, int(-(-harm_max // bin_width)))
    binned: dict[tuple[int, int], int] = {}
    for (harm_total, likelihood_total), n in counts.items():
        index = min(int(harm_total // bin_width), n_bins - 1)
        binned[(index, likelihood_total)] = binned.get((index, likelihood_total), 0) + n
    cell_w, cell_h, left, top = 52, 44, 64, 16
    cells = []
    for row_index, likelihood in enumerate(range(like_max, 0, -1)):
        for index in range(n_bins):
            low, high = index * bin_width, min((index + 1) * bin_width, harm_max)
            middle = (low + high) / 2
            risk = middle * likelihood * 100 / matrix.risk_raw_max
            band = next(b.band for b in matrix.bands if risk >= b.min_risk)
            cells.append(
                Cell(
                    left + index * cell_w,
                    top + row_index * cell_h,
                    binned.get((index, likelihood), 0),
                    band,
                    low,
                    high,
                    likelihood,
                )
            )
    columns = [
        (left + i * cell_w + cell_w / 2, f"{i * bin_width:g}\u2013{min((i + 1) * bin_width, harm_max):g}")
        for i in range(n_bins)
    ]
    rows = [(top + i * cell_h + cell_h / 2, lk) for i, lk in enumerate(range(like_max, 0, -1))]
    return Heatmap(
        cells,
        columns,
        rows,
        cell_w,
        cell_h,
        left,
        top,
        left + n_bins * cell_w + 10,
        top + like_max * cell_h + 56,
        sum(counts.values()),
        [(b.band, b.label) for b in matrix.bands],
    )


@dataclass(frozen=True)
class FanChart:
    """Weekly history as a line, then the forecast's mean with its 80% and 95% intervals as bands."""

    title: str
    width: int
    height: int
    left: int
    top: int
    bottom: int
    inner_h: float
    peak: int
    history: str  # polyline points
    mean: str
    band80: str  # polygon points
    band95: str
    split_x: float  # where the forecast starts
    ticks: list[Tick]


def fan_chart(
    title: str,
    weeks: Sequence[str],
    history: Sequence[float],
    future: Sequence[str],
    bands: Mapping[str, Sequence[float]],
    *,
    width: int = 640,
    height: int = 240,
) -> FanChart:
    """`bands` holds `mean`, `lo80`, `hi80`, `lo95` and `hi95`, one value per week of `future`."""
    keys = [*weeks, *future]
    peak = math.ceil(max([*history, *bands["hi95"], 1]))
    left, top, bottom = 40, 24, 31
    inner_w = width - left - 10
    inner_h = height - bottom - top
    slot = inner_w / max(len(keys) - 1, 1)
    xs = [left + i * slot for i in range(len(keys))]

    def y(value: float) -> float:
        return top + inner_h - inner_h * value / peak

    def line(points: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{x:.1f},{y(v):.1f}" for x, v in points)

    ahead = xs[len(weeks) :]
    # The bands start from the last week seen, so the fan opens from the history line.
    anchor = [(xs[len(weeks) - 1], history[-1])] if weeks else []

    def band(lo: str, hi: str) -> str:
        upper = anchor + list(zip(ahead, bands[hi], strict=True))
        lower = anchor + list(zip(ahead, bands[lo], strict=True))
        return line(upper + lower[::-1])

    return FanChart(
        title,
        width,
        height,
        left,
        top,
        bottom,
        inner_h,
        peak,
        history=line(list(zip(xs, history, strict=False))),
        mean=line(anchor + list(zip(ahead, bands["mean"], strict=True))),
        band80=band("lo80", "hi80"),
        band95=band("lo95", "hi95"),
        split_x=xs[len(weeks) - 1] if weeks else left,
        ticks=_ticks(keys, xs, slot),
    )
