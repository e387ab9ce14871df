"""Charts over time for the pages, drawn on the server as SVG (no script, no CDN: the
pages' Content-Security-Policy allows neither, and a chart must print and work offline).

Why here: the geometry (scales, ticks, points) is arithmetic worth testing on its own;
the template (``charts.html``) only writes the shapes this module places. Each chart
comes with the figures behind it, which the template shows as a table for screen
readers and for anyone who wants the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

WIDTH: Final = 640
HEIGHT: Final = 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 40  # margins: the axes' labels
# Okabe and Ito's palette: told apart by readers with any common colour blindness
PALETTE: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                  "#000000", "#F0E442")  # fmt: skip


@dataclass(frozen=True)
class Series:
    """One line: its label and one value per x (None: no figure for that x)."""

    label: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline>, the runs without a gap joined
    dots: tuple[tuple[float, float, str], ...]  # (x, y, the figure as text) per value


@dataclass(frozen=True)
class Chart:
    """A line chart placed in a WIDTH x HEIGHT box: its lines, the y axis' ticks, the x
    labels shown (every one when few, else spaced), and dashed reference lines."""

    title: str
    x_labels: tuple[str, ...]
    series: tuple[Series, ...]
    lines: tuple[Line, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    references: tuple[tuple[float, str], ...] = field(default=())
    width: int = WIDTH
    height: int = HEIGHT


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    references: Sequence[tuple[float, str]] = (),
    digits: int = 0,
) -> Chart:
    """Place ``series`` (each as long as ``x_labels``) on a shared y scale from 0 (or the
    lowest value, if negative) to a round number above the highest value or reference
    line; ``digits``: decimals of the figures and ticks."""
    if any(len(one.values) != len(x_labels) for one in series):
        raise ValueError("every series needs one value per x label")
    found = [v for one in series for v in one.values if v is not None and math.isfinite(v)]
    found += [value for value, _ in references]
    found += [5.0] if digits == 0 else []  # whole numbers: ticks 0-5 at least, never 0.2
    low = min(0.0, *found) if found else 0.0
    high, intervals = _nice(max(found, default=1.0) if found else 1.0, low)
    x_at, y_at = _scales(len(x_labels), low, high)
    lines = tuple(
        _line(one, PALETTE[i % len(PALETTE)], x_at, y_at, digits) for i, one in enumerate(series)
    )
    ticks = tuple((y_at(v), f"{v:,.{digits}f}") for v in _steps(low, high, intervals))
    shown = _spaced(len(x_labels))
    return Chart(
        title,
        tuple(x_labels),
        tuple(series),
        lines,
        ticks,
        tuple((x_at(i), x_labels[i]) for i in shown),
        tuple((y_at(value), label) for value, label in references),
    )


def _scales(
    count: int, low: float, high: float
) -> tuple[Callable[[int], float], Callable[[float], float]]:
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_at(i: int) -> float:
        return round(LEFT + (inner_w * i / (count - 1) if count > 1 else inner_w / 2), 1)

    def y_at(value: float) -> float:
        return round(TOP + inner_h * (1 - (value - low) / (high - low)), 1)

    return x_at, y_at


def _line(
    one: Series,
    colour: str,
    x_at: Callable[[int], float],
    y_at: Callable[[float], float],
    digits: int,
) -> Line:
    dots = tuple(
        (x_at(i), y_at(v), f"{v:,.{digits}f}")
        for i, v in enumerate(one.values)
        if v is not None and math.isfinite(v)
    )
    return Line(one.label, colour, " ".join(f"{x},{y}" for x, y, _ in dots), dots)


def _nice(top: float, low: float) -> tuple[float, int]:
    """A round number at or above ``top`` (1, 2 or 5 times a power of ten above
    ``low``), and how many equal steps from ``low`` keep the ticks round."""
    top = max(top, low + 1.0) if top - low < 1e-9 else top  # all zero: a scale of 0-1
    span = top - low
    power = 10.0 ** math.floor(math.log10(span))
    step = next(step for step in (1.0, 2.0, 5.0, 10.0) if low + step * power >= top)
    return low + step * power, 4 if step == 2.0 else 5


def _steps(low: float, high: float, count: int) -> list[float]:
    return [low + (high - low) * i / count for i in range(count + 1)]


def _spaced(count: int, most: int = 8) -> list[int]:
    """Which x labels to print: all of up to ``most``, else evenly spaced with the last."""
    if count <= most:
        return list(range(count))
    step = math.ceil(count / most)
    return sorted({*range(0, count, step), count - 1})
