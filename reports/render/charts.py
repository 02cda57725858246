"""A report's charts as PNG images for the PDF (matplotlib, Agg).

A chart that would mislead is not drawn as such: its value axis starts at zero
and says what it counts and in which unit; a line of one point (a one-day
period) is a bar; category labels are never rotated (too long to stand side by
side, the bars turn horizontal and grow with their number; a label longer than
CHART_LABEL_MAX is shortened in the middle); and a chart with nothing to draw is
no chart at all (None: the PDF says so in a sentence). A day whose figures can
still change (not over yet, or with orders still open) is drawn in orange,
its line dashed and its marker hollow, with a legend saying so: an unfinished
day never reads as a drop."""

from __future__ import annotations

import io

from reports.datasets import Chart, ReportDataset
from reports.render.formatting import (
    CHANGING_LEGEND,
    axis_titles,
    chart_labels,
    format_value,
    horizontal_bars,
    label_step,
    still_changing,
)

WIDTH_INCHES = 7.5
BAR_COLOUR = "#1f6feb"
CHANGING_COLOUR = "#f08c00"
"""The points and bars of days whose figures can still change."""
LABELLED_BARS = 12
"""Bars up to this many carry their value; more would crowd each other."""


def chart_png(dataset: ReportDataset, chart: Chart) -> tuple[bytes, float] | None:
    """(PNG bytes, height / width) of a chart sized for an A4 page width; None when
    it has nothing to draw (no rows, or every value 0)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    table = dataset.table(chart.table)
    if chart.is_empty(table):
        return None
    y_column, points = chart.points(table)
    labels = chart_labels(chart, table)
    values = [float(y or 0) for _, y in points]
    category_title, value_title = axis_titles(chart, table, dataset.currency)
    kind = chart.drawn_as(table)
    horizontal = kind == "bar" and horizontal_bars(labels)
    height = max(2.4, 0.24 * len(values) + 1.1) if horizontal else 2.8
    fig, ax = plt.subplots(figsize=(WIDTH_INCHES, height), dpi=150)
    changing = still_changing(dataset, chart)
    if kind == "line":
        _line(ax, labels, values, changing)
    else:
        colours = [CHANGING_COLOUR if c else BAR_COLOUR for c in changing]
        bars = (ax.barh if horizontal else ax.bar)(range(len(values)), values, color=colours)
        if any(changing):
            from matplotlib.patches import Patch

            _legend(ax, handles=[Patch(color=CHANGING_COLOUR, label=CHANGING_LEGEND)])
        ticks = ax.set_yticks if horizontal else ax.set_xticks
        ticks(range(len(labels)), labels, fontsize=7)
        room = max(0.0, (4 - len(values)) / 2)  # one or two bars stay bar-wide, not page-wide
        (ax.set_ylim if horizontal else ax.set_xlim)(-0.5 - room, len(values) - 0.5 + room)
        if horizontal:
            ax.invert_yaxis()  # the first row (the top of a ranking) on top
        if len(values) <= LABELLED_BARS:
            ax.bar_label(bars, [format_value(y, y_column.kind) for _, y in points], fontsize=6.5, padding=2)
    value_axis = ax.xaxis if horizontal else ax.yaxis
    _value_axis(ax, value_axis, values, y_column.kind, horizontal)
    ax.set_title(chart.title, fontsize=10)
    (ax.set_xlabel if horizontal else ax.set_ylabel)(value_title, fontsize=7.5)
    (ax.set_ylabel if horizontal else ax.set_xlabel)(category_title, fontsize=7.5)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue(), height / WIDTH_INCHES


def _line(ax, labels: list[str], values: list[float], changing: list[bool]) -> None:
    """A line with a marker per point, and as many category labels as fit unrotated;
    the segments reaching a day that can still change dashed, in CHANGING_COLOUR,
    with a hollow marker on that day."""
    nan = float("nan")
    solid: tuple[list, list] = ([], [])
    dashed: tuple[list, list] = ([], [])
    for i in range(len(values) - 1):
        xs, ys = dashed if changing[i] or changing[i + 1] else solid
        xs.extend([i, i + 1, nan])
        ys.extend([values[i], values[i + 1], nan])
    ax.plot(*solid, color=BAR_COLOUR, linewidth=1.6)
    ax.plot(*dashed, color=CHANGING_COLOUR, linewidth=1.6, linestyle=(0, (3, 2)))
    if len(values) <= 62:
        final = [i for i, c in enumerate(changing) if not c]
        ax.plot(final, [values[i] for i in final], linestyle="", color=BAR_COLOUR, marker="o", markersize=2.5)
    moving = [i for i, c in enumerate(changing) if c]
    if moving:
        ax.plot(
            moving,
            [values[i] for i in moving],
            linestyle="",
            marker="o",
            markersize=4,
            markerfacecolor="white",
            markeredgecolor=CHANGING_COLOUR,
            color=CHANGING_COLOUR,
            label=CHANGING_LEGEND,
        )
        _legend(ax)
    step = label_step(labels)
    ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)], fontsize=7)
    ax.set_xlim(-0.5, len(values) - 0.5)


def _legend(ax, **options) -> None:
    """The legend above the plot's right corner, clear of the data and the title."""
    ax.legend(fontsize=6.5, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, borderaxespad=0.2, **options)


def _value_axis(ax, axis, values: list[float], kind: str, horizontal: bool) -> None:
    """From zero, a little room above the largest value (and its label), whole
    numbers for counts, thousands separators, and never a "−0"."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    top = max(values) * (1.15 if horizontal else 1.1)
    (ax.set_xlim if horizontal else ax.set_ylim)(min(0.0, min(values)), top)
    decimals = 2 if kind != "int" and top < 10 else 0
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{0.0 if abs(value) < 1e-9 else value:,.{decimals}f}"))
    if kind == "int":  # counts: whole-number ticks, not 0, 0, 1, 1 from rounded fractions
        axis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x" if horizontal else "y", labelsize=7)
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
