"""Equity of access: "Are all groups of students reaching support?"

For a release period (a whole month, quarter, academic year or the funded period: funders see
this page), a service and a dimension: the students reached per 1,000 enrolled in each band
with 95 % Wilson intervals, and the representation ratio against the line at 1
(``dashboard.queries.equity`` computes them, ``smhp.reporting.equity`` says how), with a
plain sentence naming any band reached clearly less than its share. Through disclosure
control where the viewer's scope says so (applied by the query: the page only ever gets the
numbers it may show).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cached, charts, definitions, filters, ui
from dashboard.context import PageContext, current
from dashboard.disclose import round_shown
from dashboard.queries.equity import BAND_LABELS, DIMENSIONS, SERVICES
from dashboard.theme import NEITHER
from smhp.reporting.equity import NOT_KNOWN, under_reached
from smhp.reporting.release_periods import FUNDED, kinds_for

COLUMNS = {
    "band": "Band",
    "reached": "Students reached",
    "enrolled": "Students enrolled",
    "rate": "Reached per 1,000 enrolled",
    "rate_low": "Rate, lower 95% limit",
    "rate_high": "Rate, upper 95% limit",
    "ratio": "Representation ratio",
    "ratio_low": "Ratio, lower 95% limit",
    "ratio_high": "Ratio, upper 95% limit",
    "enrolled_is": "Enrolled figure",
}
# Shown where the seed has no enrolled figure for a band. (A comment, not a docstring: a
# bare string in a page script is drawn on the page by Streamlit's "magic".)
NO_FIGURE = "—"
RATIO_COLUMNS = ["Band", "Representation ratio", "Ratio, lower 95% limit", "Ratio, upper 95% limit"]


def _band(dimension: str, band: str) -> str:
    if dimension == "year_of_study" and band != NOT_KNOWN:
        return f"Year {band}"
    return BAND_LABELS.get(band, band)


def _table(shown: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """The shown table with its headings: labelled bands, rates to 1 place, ratios to 2."""
    rounded = round_shown(
        shown,
        {"rate": 1, "rate_low": 1, "rate_high": 1, "ratio": 2, "ratio_low": 2, "ratio_high": 2},
    )
    rounded["band"] = [_band(dimension, b) for b in rounded["band"]]
    # a band with no enrolment figure (not known, mostly) says so, rather than a blank
    rounded["enrolled"] = pd.Series(
        [NO_FIGURE if e is None else e for e in rounded["enrolled"]], dtype=object
    )
    rounded["enrolled_is"] = [
        "" if e == NO_FIGURE else ("estimate" if est else "published")
        for e, est in zip(rounded["enrolled"], rounded["estimate"], strict=True)
    ]
    return rounded[list(COLUMNS)].rename(columns=COLUMNS)


def _finding(table: pd.DataFrame) -> str:
    """The plain sentence: the bands reached clearly less than their share, or none."""
    ratios = table.set_index("Band")
    named = under_reached(ratios["Ratio, upper 95% limit"].to_dict())
    if not named:
        return (
            "**No band was reached clearly less than its share**: every representation ratio's "
            "95% interval reaches 1 or above (or cannot be shown)."
        )
    parts = [
        f"{band} (ratio {ratios.at[band, 'Representation ratio']:.2f}, 95% interval "
        f"{ratios.at[band, 'Ratio, lower 95% limit']:.2f} to "
        f"{ratios.at[band, 'Ratio, upper 95% limit']:.2f})"
        for band in named
    ]
    verb = "was" if len(parts) == 1 else "were"
    return (
        f"**Reached clearly less than {'its' if len(parts) == 1 else 'their'} share**: "
        f"{'; '.join(parts)} {verb} reached less than in proportion to enrolment "
        "(the whole 95% interval of the ratio is below 1)."
    )


def render(ctx: PageContext) -> None:
    """Draw the equity-of-access page for the context's scope."""
    last = ui.events_header(ctx, "Equity of access", "Are all groups of students reaching support?")
    if last is None:
        return
    cols = st.columns([2, 3])
    with cols[0]:
        institution = filters.institution_filter("equity_institution", ctx.scope, ctx.institutions)
    with cols[1]:
        period = filters.release_period(
            "equity_period",
            FUNDED.start,
            ctx.as_of_date or last,
            "academic_year",
            kinds_for(institution if ctx.scope.disclosure_control else None),
        )
    service = filters.choice("Service", SERVICES, "equity_service")
    dimension = filters.choice("Compare by", DIMENSIONS, "equity_dimension")
    if period is None:
        return
    scope = ctx.scope.narrowed_to(institution)
    shown = cached.equity_rates(ctx.snapshot, scope, period, dimension, service)
    if all(e is None for e in shown["enrolled"]):  # no seed row for the year
        ui.no_data(f"no enrolled students recorded for the academic year ending {period.end}.")
        return
    table = _table(shown, dimension)
    what = DIMENSIONS[dimension].lower()
    who = SERVICES[service] if service != "any" else "any service"
    st.markdown(_finding(table))
    charted = table[table["Band"] != BAND_LABELS[NOT_KNOWN]]
    notes = [
        "Error bars: 95% Wilson score intervals. Enrolled: the academic year containing the "
        "period's end; the figures are estimates where the table says so.",
        "Not known (students with no profile, or none for this field) has its count in the "
        "table but no rate: the enrolled figures have no matching group.",
    ]
    rates = charts.estimates(
        charted,
        "Band",
        "Reached per 1,000 enrolled",
        "Rate, lower 95% limit",
        "Rate, upper 95% limit",
        title=f"Students reached by {who} per 1,000 enrolled, by {what}",
        x_title=DIMENSIONS[dimension],
        y_title="Per 1,000 enrolled",
    )
    ui.figure(
        rates,
        table,
        key=f"equity_{dimension}",
        definitions=[definitions.EQUITY, definitions.EQUITY_RATIO],
        notes=notes,
    )
    ratios = charts.estimates(
        charted,
        "Band",
        "Representation ratio",
        "Ratio, lower 95% limit",
        "Ratio, upper 95% limit",
        title=f"Representation ratio of students reached by {who}, by {what}",
        x_title=DIMENSIONS[dimension],
        y_title="Share reached / share enrolled",
        dots=True,
        line_at=(1.0, "reached in proportion to enrolment"),
        colour=NEITHER,
    )
    ui.figure(
        ratios,
        charted[RATIO_COLUMNS],
        key=f"equity_ratio_{dimension}",
        definitions=[definitions.EQUITY_RATIO],
        notes=[
            "Below the line at 1: a smaller share of the students reached than of those enrolled."
        ],
    )
    ui.disclosure_footnote(scope.disclosure_control)


render(current("equity"))
