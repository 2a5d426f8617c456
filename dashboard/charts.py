"""Figure builders: a shown table in, a styled plotly figure out (no Streamlit here).

Every builder draws from the table as shown (after disclosure control and rounding), so
that a suppressed value (``*``) becomes a gap and the figure never holds a number the
table and its CSV download do not. Values are handed to plotly as plain lists: plotly 6+
would otherwise serialise arrays in a binary form that the figure's readers (tests,
exports) cannot compare.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.disclose import numbers
from dashboard.icons import assurance_icon, variation_icon
from dashboard.spc import SpcResult
from dashboard.theme import (
    CONCERN,
    FONT_SIZE,
    IMPROVEMENT,
    LIGHT,
    NEITHER,
    NEUTRAL,
    OKABE_ITO,
    TARGET,
    style,
)

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


def _texts(values: Sequence[object]) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]


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
    groups = list(dict.fromkeys(frame[color])) if color else [y]
    palette = _colours(groups, colours)
    fig = go.Figure()
    for group in groups:
        part = frame[frame[color] == group] if color else frame
        cats = [str(c) for c in part[x]]
        vals = numbers(part[y])
        text = [str(v) if isinstance(v, str) else "" for v in part[y]] if labels else None
        fig.add_trace(
            go.Bar(
                x=vals if horizontal else cats,
                y=cats if horizontal else vals,
                orientation="h" if horizontal else "v",
                name=str(group),
                marker_color=palette[group],
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
    groups = list(dict.fromkeys(frame[color])) if color else [y]
    palette = _colours(groups, colours)
    fig = go.Figure()
    for group in groups:
        part = frame[frame[color] == group] if color else frame
        fig.add_trace(
            go.Scatter(
                x=[str(v) for v in part[x]],
                y=numbers(part[y]),
                mode="lines+markers",
                name=str(group),
                line={"color": palette[group], "width": 3},
                marker={"size": 9},
                connectgaps=False,
            )
        )
    fig.update_layout(showlegend=color is not None)
    return style(fig, title, x_title, y_title)


def add_vertical_marks(fig: go.Figure, marks: dict[str | float, str]) -> go.Figure:
    """Dotted vertical lines at x positions (a date, or a category's index: 6.5 is
    between the 7th and 8th bars), labelled (e.g. "6 weeks")."""
    for x, label in marks.items():
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


def add_target(fig: go.Figure, target: float, label: str) -> go.Figure:
    """A dashed horizontal target line across the plot, labelled at the right."""
    fig.add_hline(
        y=target,
        line={"dash": "dash", "width": 2, "color": TARGET},
        annotation_text=label,
        annotation_position="top right",
        annotation_font={"size": FONT_SIZE - 2, "color": TARGET},
    )
    return fig


def spc_chart(
    x: Sequence[str],
    result: SpcResult,
    *,
    title: str,
    y_title: str,
    target: float | None,
    percent: bool,
) -> go.Figure:
    """A Making Data Count chart: the points, mean, process limits, special-cause points
    by signal, the target and the two icons in the top right corner.

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
                )
            )
    if result.has_limits:
        assert result.mean is not None and result.upper is not None and result.lower is not None
        for name, level, dash in (
            ("Mean", result.mean, "solid"),
            ("Upper process limit", result.upper, "dash"),
            ("Lower process limit", result.lower, "dash"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=[x[0], x[-1]],
                    y=[level, level],
                    mode="lines",
                    name=name,
                    line={"color": "#222222" if name == "Mean" else NEUTRAL, "dash": dash},
                    hovertemplate=f"{name}: %{{y:.1f}}<extra></extra>",
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
            )
        )
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
    if percent:
        fig.update_yaxes(range=[0, 100.5])
    return fig


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
    institutions side by side at the same scale."""
    panels = list(panel_titles)
    rows = max(1, math.ceil(len(panels) / columns))
    fig = make_subplots(
        rows=rows,
        cols=columns,
        shared_yaxes=True,
        shared_xaxes=True,
        subplot_titles=[panel_titles[p] for p in panels],
        vertical_spacing=0.12 if rows > 1 else 0.2,
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
    fig.update_layout(height=330 * rows + 80, margin={"t": 110})
    fig.update_annotations(font_size=FONT_SIZE)
    fig.update_yaxes(matches="y", rangemode="tozero")  # one scale for every panel
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=y_title, row=r, col=1)
    return fig
