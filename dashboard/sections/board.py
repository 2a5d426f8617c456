"""What the board overview shows, worked out from its cached queries: the tiles' figures,
the Making Data Count summary, the SPC chart (built, joining dates marked, its
numbers and notes) and the institutions side by side.

What the page works out from the monthly values (tiles, SPC analyses, the chart's figure)
is cached per snapshot, scope, metrics and months (``cached.derived``) and keyed by them,
not by the values' rows: the functions here take the snapshot and scope and read the
(cached) values themselves, so a cached view costs a lookup, not a pickle of the table.

In a module of its own, not in the page script: Streamlit runs a page script again on
every view, and each run would wrap these functions in its cache again (reading their
source to name the cache). The page (``dashboard/views/board.py``) only draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard import cached, charts
from dashboard.catalog import BOARD_TILES as TILES
from dashboard.disclose import numbers, round_shown
from dashboard.icons import assurance_icon, variation_icon
from dashboard.series import (
    change_months,
    month_label,
    previous_month,
    rebase_reasons,
    shown_series,
    spc_of,
    spc_table,
)
from smhp.access import Scope
from smhp.reporting.catalogue import info
from smhp.reporting.spc import TRIAL_LIMITS_BELOW, SpcResult

EXCEL_VARIANT_NOTE = (
    "Limits without screening large month-to-month changes, as the Making Data Count Excel "
    "tool draws them (setting SMHP_SPC_EXCEL_VARIANT)."
)


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


def _analysis_of(
    values: pd.DataFrame,
    changes: pd.DataFrame,
    metric: str,
    months: list[date],
    screen_outliers: bool,
) -> tuple[pd.DataFrame, list[date], SpcResult, dict[date, str]]:
    """The metric's series as shown (from the monthly ``values``), the months analysed, its
    SPC result (``spc_of``, with the declared change dates of the series drawn for the
    scope, ``changes``: ``marts.dim_spc_change_points``) and why each new segment
    starts."""
    mi = info(metric)
    series = shown_series(values, mi, months)
    analysed, result = spc_of(
        series,
        mi,
        changes=change_months(changes, metric),
        screen_outliers=screen_outliers,
    )
    return series, analysed, result, rebase_reasons(changes, metric, analysed)


@cached.derived
def tile_figures(
    snapshot: str, scope: Scope, metrics: tuple[str, ...], month: date
) -> list[tuple[str, str | None, str | None]]:
    """Each tile's figures for ``month``, in ``TILES``' order: the value as shown, its
    change from the month before (where both are numbers) and where it stands against its
    standard (None without one)."""
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


@cached.derived
def summary_rows(
    snapshot: str,
    scope: Scope,
    metrics: tuple[str, ...],
    key_metrics: tuple[str, ...],
    months: list[date],
    screen_outliers: bool,
) -> pd.DataFrame:
    """The Making Data Count summary: one row per key metric."""
    values = cached.monthly_metrics(snapshot, scope, metrics)
    changes = cached.spc_change_points(snapshot, scope)
    rows = []
    for metric in key_metrics:
        mi = info(metric)
        series, _, result, _ = _analysis_of(values, changes, metric, months, screen_outliers)
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


@cached.derived
def spc_view(
    snapshot: str,
    scope: Scope,
    metrics: tuple[str, ...],
    metric: str,
    months: list[date],
    screen_outliers: bool,
) -> tuple[charts.Drawn, pd.DataFrame, list[str]] | None:
    """The SPC chart of ``metric`` (built, joining dates marked), its numbers
    (``spc_table``) and its notes; None when the metric has no value in ``months``."""
    series, analysed, result, reasons = _analysis_of(
        cached.monthly_metrics(snapshot, scope, metrics),
        cached.spc_change_points(snapshot, scope),
        metric,
        months,
        screen_outliers,
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
    return charts.drawn(fig), shown, notes


@cached.derived
def compared(
    snapshot: str, scope: Scope, key: str, first: date, last: date
) -> tuple[pd.DataFrame, charts.Drawn] | str:
    """The small multiples of ``COMPARISONS[key]`` from ``first`` to ``last``: their table
    and their chart (built), or why there is nothing to draw. Keyed by the
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
    return table, charts.drawn(fig)
