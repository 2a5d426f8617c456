"""Equity of access: "Are all groups of students reaching support?"

Referral and U-COPE rates per 1,000 profiled students by level of study, year of study
and domicile (``dashboard.queries.equity`` explains the denominator), for a release period
(a whole month, quarter, academic year or the funded period: funders see this page), through
disclosure control where the viewer's scope says so (applied by the query: the page only ever gets
the numbers it may show).
"""

from __future__ import annotations

import streamlit as st

from dashboard import cached, charts, definitions, filters, ui
from dashboard.context import PageContext, current
from dashboard.disclose import round_shown
from dashboard.queries.equity import BAND_LABELS, DIMENSIONS, NO_PROFILE
from dashboard.theme import IMPROVEMENT, NEITHER
from smhp.reporting.release_periods import FUNDED, kinds_for

COLUMNS = {
    "band": "Band",
    "profiled_students": "Profiled students",
    "referred_students": "Students referred",
    "referral_rate": "Referred per 1,000",
    "ucope_students": "Students referred to U-COPE",
    "ucope_rate": "U-COPE per 1,000",
}


def _band(dimension: str, band: str) -> str:
    if band == NO_PROFILE:
        return band
    if dimension == "year_of_study":
        return f"Year {band}"
    return BAND_LABELS.get(band, band)


def render(ctx: PageContext) -> None:
    """Draw the equity-of-access page for the context's scope."""
    last = ui.events_header(ctx, "Equity of access", "Are all groups of students reaching support?")
    if last is None:
        return
    cols = st.columns([2, 3, 3])
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
    with cols[2]:
        dimension = filters.choice("Compare by", DIMENSIONS, "equity_dimension")
    if period is None:
        return
    scope = ctx.scope.narrowed_to(institution)
    shown = cached.equity_rates(ctx.snapshot, scope, period, dimension)
    if shown.empty or all(n == 0 for n in shown["profiled_students"]):
        ui.no_data("no profiled students at the institutions chosen.")
        return
    shown = round_shown(shown, {"referral_rate": 1, "ucope_rate": 1})
    shown["band"] = [_band(dimension, b) for b in shown["band"]]
    table = shown[list(COLUMNS)].rename(columns=COLUMNS)
    long = table[table["Band"] != NO_PROFILE].melt(
        id_vars="Band",
        value_vars=["Referred per 1,000", "U-COPE per 1,000"],
        var_name="Measure",
        value_name="Per 1,000 profiled students",
    )
    fig = charts.bars(
        long,
        "Band",
        "Per 1,000 profiled students",
        color="Measure",
        grouped=True,
        title=f"Students referred per 1,000 profiled students, by {DIMENSIONS[dimension].lower()}",
        x_title=DIMENSIONS[dimension],
        y_title="Per 1,000 profiled students",
        colours={"Referred per 1,000": IMPROVEMENT, "U-COPE per 1,000": NEITHER},
    )
    ui.figure(
        fig,
        table,
        key=f"equity_{dimension}",
        definitions=[definitions.EQUITY],
        notes=[
            "Denominator: the students of each band known to the services (their profile), "
            "not the whole student population: headcounts by band are not available."
        ],
    )
    ui.disclosure_footnote(scope.disclosure_control)


render(current("equity"))
