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

import streamlit as st

from dashboard import definitions, filters, ui
from dashboard.context import PageContext, current
from dashboard.queries.equity import (
    BAND_LABELS,
    DIMENSIONS,
    RATIO_COLUMNS,
    SERVICES,
)
from dashboard.sections import equity as sections
from smhp.reporting.equity import NOT_KNOWN
from smhp.reporting.release_periods import FUNDED, kinds_for


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
    view = sections.view(ctx.snapshot, scope, period, dimension, service)
    if view is None:
        ui.no_data(f"no enrolled students recorded for the academic year ending {period.end}.")
        return
    table, finding, rates, ratios = view
    st.markdown(finding)
    notes = [
        "Error bars: 95% Wilson score intervals. Enrolled: the academic year containing the "
        "period's end; the figures are estimates where the table says so.",
        "Not known (students with no profile, or none for this field) has its count in the "
        "table but no rate: the enrolled figures have no matching group.",
    ]
    ui.figure(
        rates,
        table,
        key=f"equity_{dimension}",
        definitions=[definitions.EQUITY, definitions.EQUITY_RATIO],
        notes=notes,
    )
    ui.figure(
        ratios,
        table[table["Band"] != BAND_LABELS[NOT_KNOWN]][RATIO_COLUMNS],
        key=f"equity_ratio_{dimension}",
        definitions=[definitions.EQUITY_RATIO],
        notes=[
            "Below the line at 1: a smaller share of the students reached than of those enrolled."
        ],
    )
    ui.disclosure_footnote(scope.disclosure_control)


render(current("equity"))
