"""The "Partnership overview" page: headline figures of the latest complete month.

The headline month is the latest *complete* month (see ``dashboard.data.AsOf``): a month
still being delivered would look like a sudden drop. Each tile is compared with the month
before. A count with no row in ``metrics_monthly`` is 0; a percentage with no row had no
records to measure and is shown as a dash.

Under disclosure control the tiles and the chart show what the NHS rule allows
(``smhp.disclosure``), and the deltas are differences of the shown values, so that an
exact difference never reveals what the rounding hid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import cached
from dashboard.data import AsOf, Scope
from smhp.disclosure import FOOTNOTE, SUPPRESSED, suppress_count, suppress_statistic

NO_DATA = "—"


@dataclass(frozen=True)
class Tile:
    """One headline figure: its metric, label, kind and, for a percentage, its base count."""

    metric: str
    label: str
    kind: Literal["count", "pct"]
    help: str
    base: str | None = None
    delta_color: Literal["normal", "off"] = "normal"


TILES: tuple[Tile, ...] = (
    Tile(
        "liaison_contacts",
        "Liaison contacts",
        "count",
        "Students presenting at urgent care who had a liaison contact in the month.",
        delta_color="off",  # more contacts is demand, neither good nor bad
    ),
    Tile(
        "referrals_received",
        "Referrals received",
        "count",
        "Referrals to services with a referral date in the month.",
        delta_color="off",
    ),
    Tile(
        "referral_seen_6wk_pct",
        "Seen within 6 weeks",
        "pct",
        "Of the referrals with a first appointment in the month, the share seen within "
        "42 days of referral: the 6-week waiting-time standard.",
        base="referral_completed_waits",
    ),
    Tile(
        "ucope_assessed_14d_pct",
        "U-COPE assessed within 14 days",
        "pct",
        "Of the U-COPE episodes assessed in the month, the share assessed within two weeks "
        "of referral (the service standard).",
        base="ucope_assessed",
    ),
    Tile(
        "liaison_informed_72h_pct",
        "University informed within 72 hours",
        "pct",
        "Of the liaison contacts in the month, the share whose university was informed "
        "within 72 hours.",
        base="liaison_contacts",
    ),
)
TILE_METRICS: tuple[str, ...] = tuple(
    sorted({t.metric for t in TILES} | {t.base for t in TILES if t.base})
)
DEFAULT_CHART_METRIC = "referrals_received"

Shown = float | str | None


def month_label(month: date) -> str:
    """``March 2024``."""
    return f"{month:%B %Y}"


def day_label(day: date) -> str:
    """``5 March 2024``."""
    return f"{day.day} {day:%B %Y}"


def previous_month(month: date) -> date:
    """The first day of the month before ``month``."""
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def raw_value(values: pd.DataFrame, metric: str, month: date, kind: str) -> float | None:
    """A metric's published value for a month: a missing count is 0, a missing rate None."""
    hit = values[(values["metric"] == metric) & (values["month"] == month)]["value"]
    if hit.empty:
        return 0.0 if kind == "count" else None
    return float(hit.iloc[0])


def shown_value(tile: Tile, values: pd.DataFrame, month: date, scope: Scope) -> Shown:
    """The tile's value for a month as this viewer may see it."""
    value = raw_value(values, tile.metric, month, tile.kind)
    if not scope.disclosure_control:
        return value
    if tile.kind == "count":
        return suppress_count(value or 0.0)
    assert tile.base is not None
    base = raw_value(values, tile.base, month, "count") or 0.0
    return suppress_statistic(value, base)


def format_value(tile: Tile, value: Shown) -> str:
    """A shown value as text: ``1,234``, ``87.5%``, ``*`` or a dash for no records."""
    if value is None:
        return NO_DATA
    if isinstance(value, str):
        return value
    return f"{value:,.0f}" if tile.kind == "count" else f"{value:.1f}%"


def format_delta(tile: Tile, current: Shown, previous: Shown) -> str | None:
    """The change from the previous month, only where both months show a number."""
    if not isinstance(current, float | int) or not isinstance(previous, float | int):
        return None
    change = current - previous
    return f"{change:+,.0f}" if tile.kind == "count" else f"{change:+.1f} pts"


def _banner(as_of: AsOf, month: date) -> str:
    parts = []
    if as_of.data_through is not None:
        parts.append(f"Data as of **{day_label(as_of.data_through)}** (latest event date)")
    if as_of.latest_extract is not None:
        parts.append(f"latest extract {day_label(as_of.latest_extract)}")
    if as_of.latest_month is not None:
        parts.append(f"latest month with data {month_label(as_of.latest_month)}")
    return (
        "; ".join(parts)
        + f". Headline figures are for **{month_label(month)}**, the latest complete month, "
        f"compared with {month_label(previous_month(month))}."
    )


def _chart(
    tile: Tile, values: pd.DataFrame, months: list[date], scope: Scope, joins: pd.DataFrame
) -> go.Figure:
    """A line chart of the tile's metric by month, with institutions' joining dates marked."""
    ys: list[float | None] = []
    for month in months:
        shown = shown_value(tile, values, month, scope)
        ys.append(shown if isinstance(shown, float | int) else None)
    fig = go.Figure(
        go.Scatter(
            x=[m.isoformat() for m in months],
            y=ys,
            mode="lines+markers",
            name=tile.label,
            connectgaps=False,
        )
    )
    fig.update_layout(
        title=f"{tile.label} by month",
        xaxis_title="Month",
        yaxis_title="Percent" if tile.kind == "pct" else "Count",
        margin={"t": 60, "b": 40},
        showlegend=False,
    )
    if tile.kind == "pct":
        fig.update_yaxes(range=[0, 100])
    # Joining dates are annotations, never filters (metric spec).
    for row in joins.itertuples():
        if months and months[0] < row.joined_on <= months[-1]:
            x = row.joined_on.isoformat()
            fig.add_shape(
                type="line",
                x0=x,
                x1=x,
                xref="x",
                y0=0,
                y1=1,
                yref="paper",
                line={"dash": "dot", "width": 1, "color": "grey"},
            )
            fig.add_annotation(
                x=x,
                y=1,
                xref="x",
                yref="paper",
                text=f"{row.institution_code} joined",
                showarrow=False,
                yanchor="bottom",
                font={"size": 10},
            )
    return fig


def render(snapshot: str, scope: Scope) -> None:
    """Draw the page for the snapshot file and the viewer's scope."""
    st.title("Partnership overview")
    as_of = cached.as_of(snapshot, scope)
    values = cached.monthly_metrics(snapshot, scope, TILE_METRICS)
    month = as_of.complete_month
    if month is None or values.empty:
        where = "the partnership" if scope.institutions is None else "your institutions"
        st.warning(f"The published warehouse holds no data for {where} yet.")
        return
    st.info(_banner(as_of, month))

    previous = previous_month(month)
    for column, tile in zip(st.columns(len(TILES)), TILES, strict=True):
        current = shown_value(tile, values, month, scope)
        before = shown_value(tile, values, previous, scope)
        column.metric(
            tile.label,
            format_value(tile, current),
            delta=format_delta(tile, current, before),
            delta_color=tile.delta_color,
            help=tile.help,
        )

    labels = {t.metric: t.label for t in TILES}
    chosen = st.selectbox(
        "Metric over time",
        options=[t.metric for t in TILES],
        index=[t.metric for t in TILES].index(DEFAULT_CHART_METRIC),
        format_func=labels.__getitem__,
        key="overview_chart_metric",
    )
    tile = next(t for t in TILES if t.metric == chosen)
    first = min(values["month"])
    months = [
        d.date() for d in pd.date_range(first, month, freq="MS")
    ]  # every month up to the headline month, so that a month without rows is plotted
    joins = cached.institution_joins(snapshot, scope)
    st.plotly_chart(_chart(tile, values, months, scope, joins), key="overview_chart")

    notes = [
        "Percentages with a dash had no records to measure in that month. The chart stops "
        "at the latest complete month."
    ]
    if scope.disclosure_control:
        notes.append(FOOTNOTE)
        notes.append(f"Values shown as {SUPPRESSED} are hidden; the chart leaves them as gaps.")
    st.caption(" ".join(notes))
