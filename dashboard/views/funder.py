"""Funder impact summary: "What did the money achieve?"

The ``smhp impact`` totals for a release period (default: the funded project period;
otherwise a whole month, quarter or academic year, never a free range), the service
standards met over it, the reach of the partnership and the trend by academic year. This
is the view meant to leave the board, so everything on it goes through disclosure control
(``smhp.reporting.disclosure``) whoever opens it: the page asks its queries with a disclosed scope
(``with_scope_of``) and they return the numbers already controlled; only the
partnership-wide totals over exactly the whole funded period are exact, as the metric
spec allows.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import cached, definitions, filters, ui
from dashboard.context import PageContext, current
from dashboard.queries.funder import HEADLINES, OUTCOMES, Shown, exact_in, with_scope_of
from dashboard.sections import funder as sections
from dashboard.series import fmt, period_label
from smhp.access import Scope
from smhp.reporting.catalogue import WAIT_18WK_TARGET, info
from smhp.reporting.disclosure import FOOTNOTE
from smhp.reporting.impact import OUTCOME_SHARES
from smhp.reporting.release_periods import FUNDED, INSTITUTION_KINDS, ReleasePeriod, kinds_for


def _headlines(shown: Shown, exact: frozenset[str], table: pd.DataFrame) -> None:
    for columns, chunk in ((st.columns(5), HEADLINES[:5]), (st.columns(5), HEADLINES[5:])):
        for column, (key, label, pattern) in zip(columns, chunk, strict=False):
            value = shown[key]
            ui.tile(column, label, fmt(value, pattern), help=_headline_help(key, shown))
    counts_of = {"referral_seen_6wk_pct": ("referral_seen_6wk", "referral_completed_waits")}
    rounded = [  # a count not exact, or a percentage whose counts are not both exact
        label
        for key, label, _ in HEADLINES
        if key != "referral_median_wait_days" and not set(counts_of.get(key, (key,))) <= exact
    ]
    if not exact:
        said = "Rounded under disclosure control (see the footnote)."
    elif rounded:
        said = (
            "Partnership-wide totals over exactly the whole funded period: exact, except "
            + ", ".join(rounded).lower()
            + " (rounded: exact, they would let a reader work out another released figure)."
        )
    else:
        said = "Exact partnership-wide totals over exactly the whole funded period."
    st.caption(f"{said} Students enrolled: headcounts of academic year {shown['academic_year']}.")
    ui.table(
        table,
        key="funder_totals",
        title="Totals for the period",
        definitions=[
            definitions.IMPACT,
            definitions.metric("liaison_students"),
            definitions.metric("ucope_students"),
            definitions.metric("referral_median_wait_days"),
            definitions.metric("referral_seen_6wk_pct"),
        ],
    )


def _headline_help(key: str, shown: Shown) -> str:
    if key in ("referral_median_wait_days", "referral_seen_6wk_pct"):
        base = shown["referral_completed_waits"]
        if isinstance(base, str):  # suppressed: fewer than 8
            return "Over fewer than 8 first appointments in the period (shown as *)."
        return f"Over {base:,} first appointments in the period."
    return definitions.IMPACT


def _outcomes(shown: Shown, table: pd.DataFrame) -> None:
    """U-COPE outcomes of the episodes discharged in the period: reliable improvement and,
    beside it, reliable recovery, each with the count it is over (never exact: these
    counts are rounded in every cell)."""
    columns = st.columns(len(OUTCOMES))
    for column, (pct, label, base_label) in zip(columns, OUTCOMES, strict=True):
        over = shown[OUTCOME_SHARES[pct][1]]
        ui.tile(
            column,
            f"U-COPE {label.lower()}",
            fmt(shown[pct], "{:.1f}%"),
            help=f"Of {over if isinstance(over, str) else f'{over:,}'}: {base_label.lower()}.",
        )
    ui.table(
        table,
        key="funder_outcomes",
        title="U-COPE outcomes of the episodes discharged in the period",
        definitions=[
            definitions.metric("ucope_reliable_improvement_pct"),
            definitions.metric("ucope_reliable_recovery_pct"),
        ],
    )


def _standards(ctx: PageContext, scope: Scope, period: ReleasePeriod) -> None:
    view = sections.standards(ctx.snapshot, scope, period)
    if view is None:
        ui.no_data("nothing was measured against the standards in this period.")
        return
    table, spec = view
    ui.figure(
        spec,
        table,
        key="funder_standards",
        definitions=[
            definitions.metric("referral_seen_6wk_pct"),
            definitions.WAIT_BANDS,
            definitions.metric("ucope_assessed_14d_pct"),
            definitions.metric("liaison_informed_72h_pct"),
        ],
        notes=[
            f"{info('referral_seen_6wk_pct').target_note} 18 weeks: "
            f"{WAIT_18WK_TARGET:.0f}% (the same standard)."
        ],
    )


def _trend(ctx: PageContext, scope: Scope, as_of: date) -> None:
    view = sections.trend(ctx.snapshot, scope, FUNDED.start, as_of)
    if view is None:
        ui.no_data("no academic year has ended yet in the data.")
        return
    shown, spec = view
    ui.figure(
        spec,
        shown,
        key="funder_trend",
        definitions=[definitions.IMPACT],
        notes=[
            "Every whole academic year since the funded project began (each year's "
            "figures are the ones shown when that year is chosen above). Students are "
            "distinct within each year: a student supported in two years counts in both."
        ],
    )


def _by_institution(ctx: PageContext, scope: Scope, period: ReleasePeriod) -> None:
    ui.table(
        sections.institutions(ctx.snapshot, scope, period),
        key="funder_institutions",
        title="By institution",
        definitions=[definitions.IMPACT],
    )


def render(ctx: PageContext) -> None:
    """Draw the funder impact summary for the context's scope."""
    last = ui.events_header(ctx, "Funder impact summary", "What did the money achieve?")
    if last is None:
        return
    as_of = ctx.as_of_date or last
    cols = st.columns([2, 3])
    with cols[0]:
        institution = filters.institution_filter("funder_institution", ctx.scope, ctx.institutions)
    with cols[1]:
        period = filters.release_period(
            "funder_period", FUNDED.start, as_of, kinds=kinds_for(institution)
        )
    if period is None:
        return
    st.markdown(f"**{period.label}** ({period_label(period.start, period.end)})")
    if institution is not None:
        st.caption(
            "One institution's figures are released for academic years and the funded "
            "period only: with months and quarters for each institution as well, the "
            "rounded figures could be solved together for exact counts."
        )
    scope = with_scope_of(ctx.scope, institution)
    if scope.institutions is not None and len(scope.institutions) > 1:
        st.info("Totals are for the whole partnership or one institution: choose one above.")
        _by_institution(ctx, scope, period)
    else:
        totals = cached.impact_totals(ctx.snapshot, scope, period)
        _headlines(
            totals,
            exact_in(ctx.snapshot, scope, period),
            sections.headline_table(ctx.snapshot, scope, period),
        )
        st.header("Service standards")
        _standards(ctx, scope, period)
        st.header("U-COPE outcomes")
        _outcomes(totals, sections.outcome_table(ctx.snapshot, scope, period))
        st.header("Trend")
        _trend(ctx, scope, as_of)
        if scope.institutions is None and period.kind in INSTITUTION_KINDS:
            st.header("Institutions")
            _by_institution(ctx, scope, period)
    st.caption(FOOTNOTE)


render(current("funder"))
