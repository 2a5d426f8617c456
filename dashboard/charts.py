"""Figure builders: a shown table in, a styled plotly figure out (no Streamlit here).

Every builder draws from the table as shown (after disclosure control and rounding), so
that a suppressed value (``*``) becomes a gap and the figure never holds a number the
table and its CSV download do not. ``describe`` turns any figure built here into its
text alternative (WCAG 1.1.1): what is plotted, the period, the latest value and the
range, the flagged points; the builders mark what is not data (a mean, a limit, a
target) and what is flagged (a special cause) so that one function describes them all.

Values are handed to plotly as plain lists: plotly 6+ would otherwise serialise arrays in
a binary form that the figure's readers (tests, exports) cannot compare.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.disclose import numbers
from dashboard.icons import assurance_icon, variation_icon
from dashboard.theme import (
    CONCERN,
    FONT_SIZE,
    GROUND,
    IMPROVEMENT,
    LIGHT,
    NEITHER,
    NEUTRAL,
    OKABE_ITO,
    TARGET,
    TEXT,
    style,
)
from smhp.reporting.catalogue import MetricInfo
from smhp.reporting.spc import TRIAL_LIMITS_BELOW, Segment, SpcResult

FLAG = "flag"
"""``meta`` of a trace of flagged points (an SPC special cause): named in the description."""
REFERENCE = "reference"
"""``meta`` of a reference line (a mean, a process limit, a target): not data."""
TRIAL = "trial"
"""``meta`` of the "Trial limits" labels of an SPC chart: not data (``describe`` says which
months have trial limits)."""
NOT_DATA = (FLAG, REFERENCE, TRIAL)
"""The metas of traces that are drawn but are not data series."""
MAX_SERIES_DESCRIBED = 6
MAX_POINTS_NAMED = 6

_SPC_LINES: tuple[tuple[str, Callable[[Segment], float | None], str], ...] = (
    ("Mean", lambda s: s.mean, "solid"),
    ("Upper process limit", lambda s: s.upper, "dash"),
    ("Lower process limit", lambda s: s.lower, "dash"),
)
"""The reference lines of an SPC chart, each drawn segment by segment."""

_SIGNAL_STYLE = {
    "improvement": ("Special cause: improvement", IMPROVEMENT, "circle"),
    "concern": ("Special cause: concern", CONCERN, "diamond"),
    "neither": ("Special cause: neither better nor worse", NEITHER, "square"),
}


def _colours(groups: Sequence[str], colours: dict[str, str] | None) -> dict[str, str]:
    chosen = dict(colours or {})
    free = [c for c in OKABE_ITO if c not in chosen.values()]
    for i, group in enumerate(g for g in groups if g not in chosen):
        chosen[group] = free[i % len(free)]
    return chosen


def _series(
    frame: pd.DataFrame, y: str, color: str | None, colours: dict[str, str] | None
) -> Iterator[tuple[object, pd.DataFrame, str]]:
    """The series a bar or line chart draws, in order of first appearance: each value of
    ``color`` with its rows and colour, or (without ``color``) the whole frame named ``y``."""
    groups = list(dict.fromkeys(frame[color])) if color else [y]
    palette = _colours(groups, colours)
    for group in groups:
        yield group, frame[frame[color] == group] if color else frame, palette[group]


def bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    title: str,
    x_title: str | None,
    y_title: str | None,
    color: str | None = None,
    horizontal: bool = False,
    colours: dict[str, str] | None = None,
    grouped: bool = False,
    labels: bool = True,
) -> go.Figure:
    """Bars of ``y`` by ``x``, one coloured series per value of ``color`` (stacked unless
    ``grouped``). With ``horizontal`` the categories run down the y axis (first on top).
    Suppressed values are gaps with ``*`` written where the bar would be."""
    fig = go.Figure()
    for group, part, colour in _series(frame, y, color, colours):
        cats = [str(c) for c in part[x]]
        vals = numbers(part[y])
        text = [str(v) if isinstance(v, str) else "" for v in part[y]] if labels else None
        fig.add_trace(
            go.Bar(
                x=vals if horizontal else cats,
                y=cats if horizontal else vals,
                orientation="h" if horizontal else "v",
                name=str(group),
                marker={"color": colour, "line": {"color": GROUND, "width": 1}},
                text=text,
                textposition="outside" if labels else None,
            )
        )
    fig.update_layout(
        barmode="group" if grouped else "stack",
        showlegend=color is not None,
        legend={"traceorder": "normal"},
    )
    style(fig, title, x_title, y_title)
    if horizontal:
        fig.update_yaxes(autorange="reversed", type="category")
    else:
        fig.update_xaxes(type="category")
    return fig


def lines(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    title: str,
    x_title: str | None,
    y_title: str | None,
    color: str | None = None,
    colours: dict[str, str] | None = None,
) -> go.Figure:
    """Lines of ``y`` over ``x``, one per value of ``color``; gaps where suppressed."""
    fig = go.Figure()
    for group, part, colour in _series(frame, y, color, colours):
        fig.add_trace(
            go.Scatter(
                x=[str(v) for v in part[x]],
                y=numbers(part[y]),
                mode="lines+markers",
                name=str(group),
                line={"color": colour, "width": 3},
                marker={"size": 9},
                connectgaps=False,
            )
        )
    fig.update_layout(showlegend=color is not None)
    return style(fig, title, x_title, y_title)


def estimates(
    frame: pd.DataFrame,
    x: str,
    y: str,
    low: str,
    high: str,
    *,
    title: str,
    x_title: str | None,
    y_title: str | None,
    dots: bool = False,
    line_at: tuple[float, str] | None = None,
    colour: str = IMPROVEMENT,
) -> go.Figure:
    """Estimates of ``y`` by ``x`` with their intervals (``low`` to ``high``) as error bars:
    bars, or with ``dots`` points (a ratio, read against ``line_at``: a dashed horizontal
    line at that value, with its label). Suppressed values and missing limits are gaps."""
    values, lows, highs = numbers(frame[y]), numbers(frame[low]), numbers(frame[high])
    up = [None if v is None or h is None else h - v for v, h in zip(values, highs, strict=True)]
    down = [None if v is None or lo is None else v - lo for v, lo in zip(values, lows, strict=True)]
    error = {"type": "data", "symmetric": False, "array": up, "arrayminus": down}
    error.update({"color": TEXT, "thickness": 2, "width": 8})
    cats = [str(c) for c in frame[x]]
    fig = go.Figure()
    if dots:
        marker = {"color": colour, "size": 12, "line": {"color": GROUND, "width": 1}}
        fig.add_trace(
            go.Scatter(x=cats, y=values, mode="markers", name=y, marker=marker, error_y=error)
        )
    else:
        marker = {"color": colour, "line": {"color": GROUND, "width": 1}}
        fig.add_trace(go.Bar(x=cats, y=values, name=y, marker=marker, error_y=error))
    _remember(fig, "marks", "95% intervals as error bars")
    if line_at is not None:
        at, label = line_at
        _remember(fig, "marks", f"a line at {_number(at)} ({label})")
        fig.add_hline(y=at, line={"dash": "dash", "width": 2, "color": TARGET})
    fig.update_layout(showlegend=False)
    style(fig, title, x_title, y_title)
    fig.update_xaxes(type="category")
    return fig


def add_vertical_marks(fig: go.Figure, marks: dict[str | float, str]) -> go.Figure:
    """Dotted vertical lines at x positions (a date, or a category's index: 6.5 is
    between the 7th and 8th bars), labelled (e.g. "6 weeks")."""
    for x, label in marks.items():
        _remember(fig, "marks", label)
        fig.add_vline(x=x, line={"dash": "dot", "width": 2, "color": TARGET})
        fig.add_annotation(
            x=x,
            y=1,
            yref="paper",
            text=label,
            showarrow=False,
            yanchor="bottom",
            font={"size": FONT_SIZE - 2, "color": TARGET},
        )
    return fig


def mark_joins(fig: go.Figure, joins: pd.DataFrame, months: Sequence[date]) -> go.Figure:
    """Mark the month each institution joined (``dashboard.data.institution_joins``) inside
    the months shown: "LIPA, HOPE joined". Joining dates are annotations, never filters
    (metric spec); a join before the first month shown is not marked."""
    marks: dict[str, list[str]] = {}
    for row in joins.itertuples():
        joined = row.joined_on.replace(day=1)
        if months and months[0] < joined <= months[-1]:
            marks.setdefault(joined.isoformat(), []).append(row.institution_code)
    return add_vertical_marks(fig, {x: ", ".join(c) + " joined" for x, c in marks.items()})


def _segment_line(
    x: Sequence[str], result: SpcResult, level: Callable[[Segment], float | None]
) -> tuple[list[str], list[float | None]]:
    """x and y of a reference line drawn segment by segment: each segment's own level over
    its points, broken (a ``None`` at the next segment's first x) where limits are
    recalculated, so that no line joins two segments."""
    xs: list[str] = []
    ys: list[float | None] = []
    for k, segment in enumerate(result.segments):
        if k:
            xs.append(x[segment.start])
            ys.append(None)
        xs += list(x[segment.start : segment.end])
        ys += [level(segment)] * segment.size
    return xs, ys


def _mark_rebases(
    fig: go.Figure, x: Sequence[str], result: SpcResult, reasons: dict[str, str]
) -> None:
    """A dash-dot vertical line and "New limits" at each segment after the first (inside
    the plot's top, below any joining-date label above it), the reason kept for
    ``describe``."""
    _, say = _labeller(list(x))
    for segment in result.segments[1:]:
        at = x[segment.start]
        reason = reasons.get(at)
        _remember(
            fig,
            "marks",
            f"new limits from {_bare(say[at])}" + (f" ({reason})" if reason else ""),
        )
        fig.add_vline(x=at, line={"dash": "dashdot", "width": 2, "color": TEXT})
        fig.add_annotation(
            x=at,
            y=1,
            yref="paper",
            text="New limits",
            showarrow=False,
            xanchor="left",
            yanchor="top",
            bgcolor=GROUND,
            font={"size": FONT_SIZE - 2, "color": TEXT},
        )


def _label_trial_limits(fig: go.Figure, x: Sequence[str], result: SpcResult) -> None:
    """ "Trial limits" written at the start of each segment of fewer than
    ``TRIAL_LIMITS_BELOW`` points (a legend entry too), the months kept for ``describe``."""
    trial = [s for s in result.segments if s.trial]
    if not trial:
        return
    _, say = _labeller(list(x))
    for segment in trial:
        first, last = _bare(say[x[segment.start]]), _bare(say[x[segment.end - 1]])
        _remember(fig, "trial", first if first == last else f"{first} to {last}")
    fig.add_trace(
        go.Scatter(
            x=[x[s.start] for s in trial],
            y=[s.upper if s.upper is not None else s.mean for s in trial],
            mode="text",
            text=["Trial limits"] * len(trial),
            textposition="top right",
            textfont={"size": FONT_SIZE - 2, "color": TEXT},
            name=f"Trial limits (fewer than {TRIAL_LIMITS_BELOW} points)",
            hoverinfo="skip",
            meta=TRIAL,
        )
    )


def spc_chart(
    x: Sequence[str],
    result: SpcResult,
    *,
    title: str,
    y_title: str,
    target: float | None,
    percent: bool,
    reasons: dict[str, str] | None = None,
) -> go.Figure:
    """A Making Data Count chart: the points, each segment's mean and process limits (true
    values, not cut at 0 or 100: the axis widens instead), special-cause points by signal
    (colour and shape), the target, a marked line where limits are recalculated (with
    ``reasons``: x of a segment's first point to why), trial limits labelled, and the two
    icons in the top right corner.

    ``x`` are the labels of the analysed points (months with a value), in order.
    """
    values = [p.value for p in result.points]
    fig = go.Figure(
        go.Scatter(
            x=list(x),
            y=values,
            mode="lines+markers",
            name="Monthly value",
            line={"color": LIGHT, "width": 2},
            marker={"color": NEUTRAL, "size": 9},
        )
    )
    for signal, (name, colour, symbol) in _SIGNAL_STYLE.items():
        hits = [(xi, p.value) for xi, p in zip(x, result.points, strict=True) if p.signal == signal]
        if hits:
            fig.add_trace(
                go.Scatter(
                    x=[h[0] for h in hits],
                    y=[h[1] for h in hits],
                    mode="markers",
                    name=name,
                    marker={"color": colour, "size": 14, "symbol": symbol},
                    meta=FLAG,
                )
            )
    for name, level, dash in _SPC_LINES:
        xs, ys = _segment_line(x, result, level)
        if all(y is None for y in ys):
            continue
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=name,
                line={"color": TEXT if name == "Mean" else NEUTRAL, "dash": dash},
                connectgaps=False,
                hovertemplate=f"{name}: %{{y:.1f}}<extra></extra>",
                meta=REFERENCE,
            )
        )
    if target is not None:
        fig.add_trace(
            go.Scatter(
                x=[x[0], x[-1]],
                y=[target, target],
                mode="lines",
                name="Target",
                line={"color": TARGET, "dash": "dot", "width": 3},
                meta=REFERENCE,
            )
        )
    _label_trial_limits(fig, x, result)
    _mark_rebases(fig, x, result, reasons or {})
    for i, source in enumerate(
        (variation_icon(result.variation), assurance_icon(result.assurance))
    ):
        fig.add_layout_image(
            source=source,
            xref="paper",
            yref="paper",
            x=1 - 0.07 * (1 - i),
            y=1.13,
            sizex=0.08,
            sizey=0.16,
            xanchor="right",
            yanchor="bottom",
        )
    style(fig, title, "Month", y_title)
    fig.update_layout(margin={"t": 100})
    limits = [v for s in result.segments for v in (s.lower, s.upper) if v is not None]
    if percent and all(0 <= v <= 100 for v in limits):
        fig.update_yaxes(range=[0, 100.5])
    return fig


def metric_spc_chart(
    mi: MetricInfo, months: Sequence[date], result: SpcResult, reasons: Mapping[date, str]
) -> go.Figure:
    """The Making Data Count chart of a catalogued metric over ``months`` (the board page's
    and the packs'): titled with its variation, its axis, target and kind from the catalogue,
    and the reasons for new limits by month."""
    return spc_chart(
        [m.isoformat() for m in months],
        result,
        title=f"{mi.label}: {result.variation.value}",
        y_title=mi.axis_title,
        target=mi.target,
        percent=mi.kind == "pct",
        reasons={m.isoformat(): r for m, r in reasons.items()},
    )


SERVICES_SUPPORTED = {"liaison_students": "Liaison", "ucope_students": "U-COPE"}
"""The impact totals the funder's chart of students per year shows, and their labels."""


def students_each_year(years: Sequence[tuple[str, Mapping[str, object]]]) -> go.Figure:
    """The funder's bars of students supported by liaison and by U-COPE in each academic
    year (``years``: the year's code and its shown impact totals; the funder page's and
    the funder pack's)."""
    long = pd.DataFrame(
        [
            {"Academic year": code, "Service": label, "Students": totals[key]}
            for code, totals in years
            for key, label in SERVICES_SUPPORTED.items()
        ]
    )
    return bars(
        long,
        "Academic year",
        "Students",
        color="Service",
        grouped=True,
        title="Students supported each academic year",
        x_title="Academic year",
        y_title="Students",
    )


def small_multiples(
    frame: pd.DataFrame,
    *,
    panel: str,
    x: str,
    y: str,
    title: str,
    y_title: str,
    panel_titles: dict[str, str],
    columns: int = 3,
) -> go.Figure:
    """One small line chart per ``panel`` value on a shared y axis, for comparing
    institutions side by side at the same scale. A panel title ``code — name`` is shown on
    two lines, so that long names never run into the next panel's (a page or a PDF)."""
    panels = list(panel_titles)
    rows = max(1, math.ceil(len(panels) / columns))
    fig = make_subplots(
        rows=rows,
        cols=columns,
        shared_yaxes=True,
        shared_xaxes=True,
        subplot_titles=[_panel_title(panel_titles[p]) for p in panels],
        # a fraction of the whole height: 0.2 up to 3 rows, less beyond (plotly refuses a
        # gap over 1 / (rows - 1): a national roll-out has 90 rows of institutions)
        vertical_spacing=min(0.2, 0.5 / (rows - 1)) if rows > 1 else 0.2,
        horizontal_spacing=0.04,
    )
    for i, name in enumerate(panels):
        part = frame[frame[panel] == name]
        fig.add_trace(
            go.Scatter(
                x=[str(v) for v in part[x]],
                y=numbers(part[y]),
                mode="lines+markers",
                name=name,
                line={"color": IMPROVEMENT, "width": 3},
                marker={"size": 7},
                connectgaps=False,
                showlegend=False,
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    style(fig, title, None, None)
    fig.update_layout(height=360 * rows + 100, margin={"t": 150})
    fig.update_annotations(font_size=FONT_SIZE - 2)
    fig.update_yaxes(matches="y", rangemode="tozero")  # one scale for every panel
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=y_title, row=r, col=1)
    return fig


def _panel_title(title: str, width: int = 26) -> str:
    """``UOLIC — University of Liverpool International College`` as a panel title: the code,
    then the name wrapped in lines of at most ``width`` characters."""
    code, _, name = title.partition(" — ")
    return "<br>".join([code, *textwrap.wrap(name, width)]) if name else code


MAX_PANELS = 24
"""The most institutions compared one panel each; above it (a national roll-out has 270)
``institutions_side_by_side`` summarises them in one chart (``institutions_spread``)."""
SPREAD = ("Highest", "90th percentile", "Median", "10th percentile", "Lowest")
"""The lines of ``institutions_spread``, top to bottom."""


def institutions_side_by_side(shown: pd.DataFrame, label: str, y_title: str) -> go.Figure:
    """A measure per institution and month (``dashboard.queries.board.institution_monthly``
    as shown) in small multiples, one panel per institution titled with its code and name
    (the board page's and the board pack's); more than ``MAX_PANELS`` institutions in one
    chart of their spread."""
    if shown["institution_code"].nunique() > MAX_PANELS:
        return institutions_spread(shown, label, y_title)
    names = dict(zip(shown["institution_code"], shown["institution_name"], strict=False))
    return small_multiples(
        shown,
        panel="institution_code",
        x="month",
        y="value",
        title=f"{label}, by institution",
        y_title=y_title,
        panel_titles={c: f"{c} — {n}" for c, n in names.items()},
    )


def institutions_spread(shown: pd.DataFrame, label: str, y_title: str) -> go.Figure:
    """A measure per institution and month summarised over the institutions, month by
    month: the highest, the 90th percentile, the median, the 10th percentile and the lowest
    of the institutions with a value (``SPREAD``; percentiles interpolated).

    For a board of many institutions: 270 panels are too many to read (or to draw, on a
    page or in a pack), while the spread shows whether institutions are drawing apart and
    where the middle lies. The table under the chart keeps every institution's value, to
    find which one is highest or lowest.
    """
    values = shown.assign(v=pd.Series(numbers(shown["value"]), index=shown.index, dtype="float64"))
    rows = []
    for month, part in values.dropna(subset=["v"]).groupby("month", sort=True):
        v = part["v"]
        figures = (v.max(), v.quantile(0.9), v.median(), v.quantile(0.1), v.min())
        rows += [(month, line, float(f)) for line, f in zip(SPREAD, figures, strict=True)]
    frame = pd.DataFrame(rows, columns=["month", "line", "value"])
    institutions = shown["institution_code"].nunique()
    fig = lines(
        frame,
        "month",
        "value",
        title=f"{label}: spread over {institutions} institutions",
        x_title=None,
        y_title=y_title,
        color="line",
    )
    dashes = {"Median": "solid", "90th percentile": "dash", "10th percentile": "dash"}
    for trace in fig.data:  # not by colour alone: the median solid, the extremes dotted
        trace.line.dash = dashes.get(trace.name, "dot")
    return fig


# --- text alternatives -------------------------------------------------------------------


def _remember(fig: go.Figure, what: str, text: str) -> None:
    """Keep a mark or target line's label in the figure's ``meta`` for ``describe``."""
    meta = dict(fig.layout.meta or {})
    meta[what] = [*meta.get(what, []), text]
    fig.update_layout(meta=meta)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _as_times(labels: Sequence[str]) -> dict[str, datetime] | None:
    """The categories as moments, if every one is an ISO date or date and time."""
    try:
        return {label: datetime.fromisoformat(label) for label in labels}
    except (TypeError, ValueError):
        return None


def _labeller(labels: Sequence[str]) -> tuple[dict[str, datetime] | None, dict[str, str]]:
    """The categories as moments (``None``: not over time), and how to say each: ``in
    March 2024`` for months (first days), ``on 5 March 2024`` for other dates, ``on 5 March
    2024 at 21:11`` for times, ``at <label>`` otherwise."""
    times = _as_times(labels)
    if times is None:
        return None, {label: f"at {label}" for label in labels}
    if any(t.time() != time() for t in times.values()):
        return times, {k: f"on {t.day} {t:%B %Y at %H:%M}" for k, t in times.items()}
    monthly = all(t.day == 1 for t in times.values())
    return times, {
        k: f"in {t:%B %Y}" if monthly else f"on {t.day} {t:%B %Y}" for k, t in times.items()
    }


def _bare(said: str) -> str:
    """``March 2024`` of ``in March 2024``: a category as a list names it."""
    return said.split(" ", 1)[1]


def _value(v: object) -> float | None:
    """A plotted value as a number; ``None`` for a gap (or anything not a number)."""
    if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
        return None
    return float(v)


def _points(trace: go.Bar | go.Scatter, horizontal: bool) -> list[tuple[str, float | None]]:
    """(category, value) of a trace in drawing order; ``None`` for a gap. In a horizontal
    chart the categories run down the y axis, for its bars and any marks added to it."""
    cats, vals = (trace.y, trace.x) if horizontal else (trace.x, trace.y)
    return [(str(c), _value(v)) for c, v in zip(cats or (), vals or (), strict=False)]


def _listed(items: Sequence[str], limit: int = MAX_POINTS_NAMED) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _levels(trace: go.Scatter, say: dict[str, str]) -> str:
    """A reference line's level (``12``), or one per segment where it steps (``10.5 from
    January 2020, 21 from August 2022``): a gap (``None``) starts a new segment."""
    levels: list[tuple[str, float]] = []
    fresh = True
    for x, y in zip(trace.x or (), trace.y or (), strict=False):
        value = _value(y)
        if value is None:
            fresh = True
        elif fresh:
            levels.append((str(x), value))
            fresh = False
    if len(levels) == 1:
        return _number(levels[0][1])
    return ", ".join(f"{_number(v)} from {_bare(say[x]) if x in say else x}" for x, v in levels)


def _series_sentence(
    name: str,
    points: list[tuple[str, float]],
    say: dict[str, str],
    times: dict[str, datetime] | None,
) -> str:
    """One series: its value, or its range, and (over time) its latest value."""
    if len(points) == 1:
        cat, value = points[0]
        return f"{name}: {_number(value)} {say[cat]}."
    low = min(points, key=lambda p: p[1])
    high = max(points, key=lambda p: p[1])
    spread = f"lowest {_number(low[1])} {say[low[0]]}, highest {_number(high[1])} {say[high[0]]}"
    if times is not None:
        last = max(points, key=lambda p: times[p[0]])
        return f"{name}: latest {_number(last[1])} {say[last[0]]}; {spread}."
    return f"{name}: {spread}."


def chart_kind(fig: go.Figure) -> str:
    """``Bar chart``, ``Line chart``, ``Small multiples`` or ``SPC chart``, from the traces."""
    data = [t for t in fig.data if t.meta not in NOT_DATA]
    if any(t.xaxis not in (None, "x") for t in data):
        return "Small multiples"
    if any(t.meta in (FLAG, REFERENCE) for t in fig.data) or fig.layout.images:
        return "SPC chart"
    if any(isinstance(t, go.Bar) for t in data):
        horizontal = any(t.orientation == "h" for t in data if isinstance(t, go.Bar))
        return "Horizontal bar chart" if horizontal else "Bar chart"
    if data and all(t.mode == "markers" for t in data):
        return "Dot chart"
    return "Line chart"


def describe(fig: go.Figure) -> str:
    """The text alternative of a figure built here, in plain English: what is plotted
    (the kind of chart, the measure, the series), the period or categories, each series'
    latest value (over time) and its range, the flagged points, the reference lines and
    marks, and how many values are gaps (suppressed or missing).

    Derived from the figure alone, so every chart of the dashboard is described the same
    way and the description can never disagree with what is drawn.
    """
    title = str(fig.layout.title.text or "Chart")
    kind = chart_kind(fig)
    data = [t for t in fig.data if t.meta not in NOT_DATA]
    horizontal = kind == "Horizontal bar chart"
    value_axis, category_axis = (
        (fig.layout.xaxis, fig.layout.yaxis) if horizontal else (fig.layout.yaxis, fig.layout.xaxis)
    )
    measure = value_axis.title.text or title
    what = f"{kind} of {str(measure).lower()}" if measure != title else kind
    if kind == "Small multiples":  # the title says what; the panels share one scale
        what = "Small multiples on one scale, a panel per series"
    elif category_axis.title.text:
        what += f" by {str(category_axis.title.text).lower()}"
    sentences = [f"{what}: {title}."]
    labels = list(dict.fromkeys(c for t in data for c, _ in _points(t, horizontal)))
    times, say = _labeller(labels)
    if labels and times is not None:
        ordered = sorted(labels, key=times.__getitem__)
        sentences.append(f"From {_bare(say[ordered[0]])} to {_bare(say[ordered[-1]])}.")
    elif labels:
        sentences.append(f"{len(labels)} categories: {_listed(labels)}.")
    gaps = 0
    described = 0
    for trace in data:
        points = _points(trace, horizontal)
        gaps += sum(1 for _, v in points if v is None)
        values = [(c, v) for c, v in points if v is not None]
        if not values:
            continue
        described += 1
        if described > MAX_SERIES_DESCRIBED:
            continue
        name = str(trace.name or measure)
        sentences.append(_series_sentence(name, values, say, times))
    if described > MAX_SERIES_DESCRIBED:
        sentences.append(f"{described - MAX_SERIES_DESCRIBED} more series are in the table.")
    for trace in fig.data:
        if trace.meta == FLAG:
            when = [_bare(say[str(x)]) if str(x) in say else str(x) for x in trace.x or ()]
            sentences.append(f"Flagged, {str(trace.name).lower()}: {_listed(when)}.")
    references = [
        f"{str(t.name).lower()} {_levels(t, say)}"
        for t in fig.data
        if t.meta == REFERENCE and any(_value(v) is not None for v in t.y or ())
    ]
    meta = fig.layout.meta or {}
    references += [f"target {text}" for text in meta.get("targets", [])]
    if references:
        sentences.append(f"Reference lines: {'; '.join(references)}.")
    if meta.get("trial"):
        sentences.append(
            f"Trial limits (a segment of fewer than {TRIAL_LIMITS_BELOW} points): "
            f"{_listed(list(meta['trial']))}."
        )
    if meta.get("marks"):
        sentences.append(f"Marked: {_listed(list(meta['marks']))}.")
    if gaps:
        sentences.append(
            f"{gaps} values are suppressed or missing, left as gaps."
            if gaps > 1
            else "1 value is suppressed or missing, left as a gap."
        )
    return " ".join(sentences)


def alt_text(fig: go.Figure) -> str:
    """The chart's accessible name (short): its kind and title; ``describe`` says more."""
    return f"{chart_kind(fig)}: {fig.layout.title.text or 'chart'}"


@dataclass(frozen=True)
class Drawn:
    """A chart built once and kept (a page's cached section, ``dashboard.sections``): the
    figure as its dict, and its title, accessible name and description in words, worked
    out when it was built (``drawn``), so that a page view only draws it."""

    spec: dict[str, Any]
    title: str
    alt: str
    description: str

    def figure(self) -> go.Figure:
        """A figure of its own from ``spec``: validated when it was built, so taken as it
        is (plotly's own way with a trusted dict)."""
        return go.Figure(self.spec, _validate=False)


def drawn(fig: go.Figure) -> Drawn:
    """``fig`` as a ``Drawn`` chart: its dict, title, accessible name and description."""
    return Drawn(fig.to_dict(), str(fig.layout.title.text or ""), alt_text(fig), describe(fig))
