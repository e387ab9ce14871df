"""The monitoring page's charts (serving.pages.charts): figures placed on the scale they
claim, gaps left as gaps, reference lines where their value lies, labels spaced."""

from __future__ import annotations

import pytest

from serving.pages.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, Series, line_chart


def _y(value: float, high: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / high), 1)


def test_values_are_placed_on_a_round_scale_from_zero() -> None:
    chart = line_chart("t", ["a", "b", "c"], [Series("s", (0.0, 3.0, 7.0))])
    assert [label for _, label in chart.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    (line,) = chart.lines
    assert [(x, y) for x, y, _ in line.dots] == [
        (LEFT, _y(0, 10)), (LEFT + (WIDTH - LEFT - RIGHT) / 2, _y(3, 10)),
        (WIDTH - RIGHT, _y(7, 10)),
    ]  # fmt: skip
    assert line.points == " ".join(f"{x},{y}" for x, y, _ in line.dots)
    assert [text for *_, text in line.dots] == ["0", "3", "7"]


def test_all_zero_figures_get_a_scale_of_their_own() -> None:
    chart = line_chart("t", ["a", "b"], [Series("s", (0.0, 0.0))], digits=1)
    assert [label for _, label in chart.y_ticks] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]


def test_counts_get_whole_ticks() -> None:
    chart = line_chart("t", ["a", "b"], [Series("s", (0.0, 1.0))])
    assert [label for _, label in chart.y_ticks] == ["0", "1", "2", "3", "4", "5"]


def test_a_missing_figure_is_a_gap_not_a_zero() -> None:
    chart = line_chart("t", ["a", "b", "c"], [Series("s", (1.0, None, float("nan")))])
    assert len(chart.lines[0].dots) == 1


def test_reference_lines_count_in_the_scale() -> None:
    chart = line_chart("t", ["a", "b"], [Series("s", (0.01, 0.02))], [(0.25, "major")], 2)
    assert chart.references == ((_y(0.25, 0.5), "major"),)
    assert [label for _, label in chart.y_ticks] == ["0.00", "0.10", "0.20", "0.30", "0.40", "0.50"]


def test_many_batches_print_spaced_labels_and_the_last() -> None:
    days = [f"d{i}" for i in range(26)]
    chart = line_chart("t", days, [Series("s", tuple(float(i) for i in range(26)))])
    shown = [label for _, label in chart.x_ticks]
    assert (shown[0], shown[-1]) == ("d0", "d25")
    assert len(shown) <= 10


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="one value per x label"):
        line_chart("t", ["a", "b"], [Series("s", (1.0,))])
