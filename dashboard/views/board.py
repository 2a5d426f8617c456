"""Board overview: "Are we improving, and where do we need to act?"

Headline tiles for the latest *complete* month (a month still being delivered would look
like a sudden drop) against the month before and against the standards; a Making Data
Count summary and SPC chart of the key metrics; small multiples comparing institutions,
per 1,000 students where counts differ in scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cached, charts, definitions, filters, ui
from dashboard.catalog import BOARD_KEY_METRICS as KEY_METRICS
from dashboard.catalog import BOARD_TILES as TILES
from dashboard.context import PageContext, current
from dashboard.disclose import numbers, round_shown
from dashboard.icons import assurance_icon, variation_icon
from dashboard.series import (
    change_months,
    month_label,
    months_between,
    previous_month,
    rebase_reasons,
    shown_series,
    spc_of,
    spc_table,
    window_start,
)
from smhp.access import Scope
from smhp.reporting.catalogue import info, with_bases
from smhp.reporting.spc import TRIAL_LIMITS_BELOW, SpcResult
from smhp.settings import Settings

EXCEL_VARIANT_NOTE = (
    "Limits without screening large month-to-month changes, as the Making Data Count Excel "
    "tool draws them (setting SMHP_SPC_EXCEL_VARIANT)."
)
WINDOWS = {"24": "Last 24 months", "36": "Last 36 months", "all": "All months"}


@dataclass(frozen=True)
class Comparison:
    """A small-multiples measure: a published metric, or a count per 1,000 students."""

    label: str
    metric: str | None  # None: the count per 1,000 students, derived
    count: str  # the count it comes from (rate) or its base (percentage)
    kind: str  # "rate" or "pct"


COMPARISONS = {
    "referrals": Comparison(
        "Referrals per 1,000 students", "referrals_per_1000_students", "referrals_received", "rate"
    ),
    "liaison": Comparison("Liaison contacts per 1,000 students", None, "liaison_contacts", "rate"),
    "ucope": Comparison("U-COPE referrals per 1,000 students", None, "ucope_referrals", "rate"),
    "seen_6wk": Comparison(
        "Seen within 6 weeks (%)", "referral_seen_6wk_pct", "referral_completed_waits", "pct"
    ),
    "ucope_14d": Comparison(
        "U-COPE assessed within 14 days (%)", "ucope_assessed_14d_pct", "ucope_assessed", "pct"
    ),
    "informed_72h": Comparison(
        "University informed within 72 hours (%)",
        "liaison_informed_72h_pct",
        "liaison_contacts",
        "pct",
    ),
}


def _key_metrics(ctx: PageContext) -> tuple[str, ...]:
    # A median cannot be combined from several institutions' rows (dashboard.data).
    single = ctx.scope.institutions is None or len(ctx.scope.institutions) == 1
    return tuple(m for m in KEY_METRICS if single or info(m).kind != "median")


def _metrics_of(ctx: PageContext) -> tuple[str, ...]:
    """Every metric the page reads: the tiles', the key metrics' and their bases."""
    return with_bases(tuple(sorted(set(TILES) | set(_key_metrics(ctx)))))


# What the page works out from the monthly values (tiles, SPC analyses, the chart's figure)
# is cached per snapshot, scope, metrics and months (``cached.derived``) and keyed by them,
# not by the values' rows: the functions below take the snapshot and scope and read the
# (cached) values themselves, so a cached view costs a lookup, not a pickle of the table.


@cached.derived
def _tile_figures(
    snapshot: str, scope: Scope, metrics: tuple[str, ...], month: date
) -> list[tuple[str, str | None, str | None]]:
    """Each tile's figures for ``month``, in ``TILES``' order: the value as shown, its
    change from the month before (where both are numbers) and where it stands against its
    standard (None without one). Plain tuples: the cache pickles them, and a class of this
    page script could not be found again to unpickle."""
    values = cached.monthly_metrics(snapshot, scope, metrics)
    tiles = []
    for metric in TILES:
        mi = info(metric)
        now = shown_series(values, mi, [month])["value"].iloc[0]
        before = shown_series(values, mi, [previous_month(month)])["value"].iloc[0]
        delta = None
        if not isinstance(now, str | type(None)) and not isinstance(before, str | type(None)):
            change = float(now) - float(before)
            delta = f"{change:+,.0f}" if mi.kind == "count" else f"{change:+.1f} pts"
        standard = (mi.against_standard(now) or "") if mi.target is not None else None
        tiles.append((mi.format(now), delta, standard))
    return tiles


_BADGE_COLOURS = {"Meets": "blue", "Below": "orange", "Standard": "gray"}


def _tiles(ctx: PageContext, month: date) -> None:
    st.subheader(f"{month_label(month)} compared with {month_label(previous_month(month))}")
    figures = _tile_figures(ctx.snapshot, ctx.scope, _metrics_of(ctx), month)
    tiles = zip(st.columns(len(TILES)), TILES, figures, strict=True)
    for column, metric, (value, delta, standard) in tiles:
        mi = info(metric)
        ui.tile(
            column,
            mi.label,
            value,
            delta=delta,
            delta_color="off" if mi.direction.value == "neither" else "normal",
            help=definitions.metric(metric),
        )
        if standard is not None:
            column.badge(standard, color=_BADGE_COLOURS[standard.split(" ", 1)[0]])


def _analysis_of(
    snapshot: str,
    scope: Scope,
    metrics: tuple[str, ...],
    metric: str,
    months: list[date],
    screen_outliers: bool,
) -> tuple[pd.DataFrame, list[date], SpcResult, dict[date, str]]:
    """The metric's series as shown, the months analysed, its SPC result (``spc_of``, with
    the declared change dates of the series drawn for the scope,
    ``marts.dim_spc_change_points``) and why each new segment starts."""
    mi = info(metric)
    changes = cached.spc_change_points(snapshot, scope)
    series = shown_series(cached.monthly_metrics(snapshot, scope, metrics), mi, months)
    analysed, result = spc_of(
        series,
        mi,
        changes=change_months(changes, metric),
        screen_outliers=screen_outliers,
    )
    return series, analysed, result, rebase_reasons(changes, metric, analysed)


def _screen_outliers() -> bool:
    """Whether SPC limits screen large month-to-month changes (not the Excel variant)."""
    return not Settings.from_env().spc_excel_variant


@cached.derived
def _summary_rows(
    snapshot: str,
    scope: Scope,
    metrics: tuple[str, ...],
    key_metrics: tuple[str, ...],
    months: list[date],
    screen_outliers: bool,
) -> pd.DataFrame:
    """The Making Data Count summary: one row per key metric."""
    rows = []
    for metric in key_metrics:
        mi = info(metric)
        series, _, result, _ = _analysis_of(
            snapshot, scope, metrics, metric, months, screen_outliers
        )
        latest = series["value"].iloc[-1] if not series.empty else None
        rows.append(
            {
                "Metric": mi.label,
                "Latest month": mi.format(latest),
                "Mean": None if result.mean is None else round(result.mean, 1),
                "Lower limit": None if result.lower is None else round(result.lower, 1),
                "Upper limit": None if result.upper is None else round(result.upper, 1),
                "Target": "—" if mi.target is None else f"{mi.target:.0f}",
                "Variation icon": variation_icon(result.variation),
                "Variation": result.variation.value,
                "Assurance icon": assurance_icon(result.assurance),
                "Assurance": result.assurance.value,
            }
        )
    return pd.DataFrame(rows)


def _summary(ctx: PageContext, months: list[date]) -> None:
    rows = _summary_rows(
        ctx.snapshot, ctx.scope, _metrics_of(ctx), _key_metrics(ctx), months, _screen_outliers()
    )
    ui.table(
        rows,
        key="board_spc_summary",
        title=f"Key metrics, {month_label(months[0])} to {month_label(months[-1])}",
        definitions=[definitions.SPC, *(definitions.metric(m) for m in _key_metrics(ctx))],
        column_config={
            "Variation icon": st.column_config.ImageColumn(" ", width="small"),
            "Assurance icon": st.column_config.ImageColumn("  ", width="small"),
        },
        not_in_csv=("Variation icon", "Assurance icon"),
    )


@cached.derived
def _spc_view(
    snapshot: str,
    scope: Scope,
    metrics: tuple[str, ...],
    metric: str,
    months: list[date],
    screen_outliers: bool,
) -> tuple[dict[str, Any], pd.DataFrame, list[str]] | None:
    """The SPC chart of ``metric`` (the figure's dict, joining dates marked), its numbers
    (``spc_table``) and its notes; None when the metric has no value in ``months``."""
    series, analysed, result, reasons = _analysis_of(
        snapshot, scope, metrics, metric, months, screen_outliers
    )
    if not analysed:
        return None
    mi = info(metric)
    fig = charts.metric_spc_chart(mi, analysed, result, reasons)
    charts.mark_joins(fig, cached.institution_joins(snapshot, scope), analysed)
    notes = [f"Variation: {result.variation.value}. Assurance: {result.assurance.value}."]
    notes += [f"New limits from {month_label(m)}: {r}." for m, r in reasons.items()]
    if not screen_outliers:
        notes.append(EXCEL_VARIANT_NOTE)
    if mi.target_note:
        notes.append(mi.target_note)
    for segment in result.segments:
        if segment.trial:
            notes.append(
                f"Trial limits from {month_label(analysed[segment.start])}: only "
                f"{segment.size} months have a value (fewer than {TRIAL_LIMITS_BELOW}); "
                "they will move as months are added."
            )
    shown = spc_table(series, analysed, result).rename(
        columns={
            "month": "Month",
            "value": mi.label,
            "mean": "Mean",
            "lower_limit": "Lower process limit",
            "upper_limit": "Upper process limit",
            "special_cause": "Special cause",
            "limits_from": "Limits from",
            "trial_limits": "Trial limits",
        }
    )
    shown.insert(5, "Target", mi.target)
    return fig.to_dict(), shown, notes


def _spc_chart(ctx: PageContext, months: list[date]) -> None:
    metrics = _key_metrics(ctx)
    chosen = st.selectbox(
        "SPC chart of",
        metrics,
        index=metrics.index("referral_seen_6wk_pct"),
        format_func=lambda m: info(m).label,
        key="board_spc_metric",
    )
    view = _spc_view(ctx.snapshot, ctx.scope, _metrics_of(ctx), chosen, months, _screen_outliers())
    if view is None:
        ui.no_data(
            f"{info(chosen).label} has no value in {month_label(months[0])} to "
            f"{month_label(months[-1])}."
        )
        return
    spec, shown, notes = view
    ui.figure(
        cached.figure_from(spec),
        shown,
        key=f"board_spc_{chosen}",
        definitions=[definitions.metric(chosen), definitions.SPC, definitions.COUNT_RULE],
        notes=notes,
    )


@cached.derived
def _compared(
    snapshot: str, scope: Scope, key: str, first: date, last: date
) -> tuple[pd.DataFrame, dict[str, Any]] | str:
    """The small multiples of ``COMPARISONS[key]`` from ``first`` to ``last``: their table
    and their chart (as the figure's dict), or why there is nothing to draw. Keyed by the
    snapshot, scope and filters, not by the institutions' rows: at national scale the
    rows of 270 institutions cost more to key than these cost to look up."""
    comp = COMPARISONS[key]
    shown = cached.institution_monthly(snapshot, scope, comp.metric, comp.count, first, last)
    if shown.empty:
        return "no institution rows in these months."
    shown = round_shown(shown, {"value": 1})
    if all(v is None for v in numbers(shown["value"])):
        return f"{comp.label} has no value in these months."
    y_title = "Per 1,000" if comp.kind == "rate" else "Percent"
    fig = charts.institutions_side_by_side(shown, comp.label, y_title)
    table = shown[["month", "institution_code", "value"]].rename(
        columns={"month": "Month", "institution_code": "Institution", "value": comp.label}
    )
    return table, fig.to_dict()


def _comparison(ctx: PageContext, months: list[date]) -> None:
    key = st.selectbox(
        "Compare institutions on",
        list(COMPARISONS),
        format_func=lambda k: COMPARISONS[k].label,
        key="board_compare",
    )
    comp = COMPARISONS[key]
    compared = _compared(ctx.snapshot, ctx.scope, key, months[0], months[-1])
    if isinstance(compared, str):
        ui.no_data(compared)
        return
    table, spec = compared
    defs = [definitions.PER_1000] if comp.kind == "rate" else []
    defs.append(definitions.metric(comp.metric or comp.count))
    ui.figure(cached.figure_from(spec), table, key=f"board_compare_{key}", definitions=defs)


def render(ctx: PageContext) -> None:
    """Draw the board overview for the context's scope."""
    ui.header("Board overview", "Are we improving, and where do we need to act?")
    month = ctx.as_of.complete_month
    values = cached.monthly_metrics(ctx.snapshot, ctx.scope, _metrics_of(ctx))
    if month is None or values.empty:
        ui.no_data("the published warehouse holds no monthly figures for this view yet.")
        return
    _tiles(ctx, month)
    window = filters.choice("Months shown", WINDOWS, "board_window")
    earliest = min(values["month"])
    first = earliest if window == "all" else max(earliest, window_start(month, int(window)))
    if first > month:
        ui.no_data("no complete month has figures for this view yet.")
        return
    months = months_between(first, month)
    _summary(ctx, months)
    st.subheader("Statistical process control")
    _spc_chart(ctx, months)
    st.subheader("Institutions side by side")
    _comparison(ctx, months)
    ui.disclosure_footnote(ctx.scope.disclosure_control)


render(current("overview"))
