"""Service manager: "What is happening at my institution?"

Filters (institution, period, service) narrow the viewer's scope; the sections follow a
student's path: referrals and what became of them, how long they waited, the liaison
service's work, the U-COPE pathway, and who is still waiting past 6 weeks, drilled down
from the partnership to an institution, a month and a pseudonymous worklist.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard import cached, definitions, filters, ui
from dashboard.context import PageContext, current
from dashboard.sections import service as sections
from dashboard.sections.service import Services, Shown
from dashboard.series import fmt, month_end, month_label, window_start
from smhp.access import Scope
from smhp.reporting.catalogue import info

ALL_MONTHS = "all"


def _draw(view: Shown, key: str, defs: list[str], notes: list[str] | None = None) -> None:
    """A section's chart and table (``view``), its definitions ``defs``."""
    shown, spec = view
    ui.figure(spec, shown, key=key, definitions=defs, notes=notes or [])


def _funnel(ctx: PageContext, scope: Scope, start: date, end: date, services: Services) -> None:
    view = sections.funnel(ctx.snapshot, scope, start, end, services)
    if view is None:
        ui.no_data("no referrals were received in this period.")
        return
    _draw(view, "service_funnel", [definitions.REFERRAL_FUNNEL])


def _waits(ctx: PageContext, scope: Scope, start: date, end: date, services: Services) -> None:
    shown_summary = cached.wait_summary(ctx.snapshot, scope, start, end, services)
    cols = st.columns(4)
    ui.tile(cols[0], "First appointments", fmt(shown_summary["first_appointments"], "{:,.0f}"))
    ui.tile(cols[1], "Median wait", fmt(shown_summary["median_wait_days"], "{:.1f} days"))
    ui.tile(cols[2], "Seen within 6 weeks", fmt(shown_summary["within_6wk_pct"], "{:.1f}%"))
    ui.tile(cols[3], "Seen within 18 weeks", fmt(shown_summary["within_18wk_pct"], "{:.1f}%"))
    if shown_summary["first_appointments"] in (0, None):
        ui.no_data("no first appointments fell in this period.")
        return
    _draw(
        sections.waits(ctx.snapshot, scope, start, end, services),
        "service_waits",
        [definitions.WAIT_BANDS, definitions.metric("referral_seen_6wk_pct")],
        notes=[info("referral_seen_6wk_pct").target_note or ""],
    )


def _liaison(ctx: PageContext, scope: Scope, start: date, end: date) -> None:
    view = sections.liaison(ctx.snapshot, scope, start, end)
    if view is None:
        ui.no_data("no liaison contacts were presented in this period.")
        return
    _draw(view, "service_liaison", [definitions.LIAISON_MIX])


def _ucope(ctx: PageContext, scope: Scope, start: date, end: date) -> None:
    view = sections.ucope(ctx.snapshot, scope, start, end)
    if view is None:
        ui.no_data("no U-COPE episodes were referred in this period.")
        return
    shown, table, spec = view
    cols = st.columns(3)
    ui.tile(cols[0], "Completed, of those discharged", fmt(shown["completion_pct"], "{:.1f}%"))
    ui.tile(
        cols[1],
        "Reliable improvement, of those with both scores",
        fmt(shown["improvement_pct"], "{:.1f}%"),
    )
    ui.tile(
        cols[2],
        "Reliable recovery, of those starting in the clinical range",
        fmt(shown["recovery_pct"], "{:.1f}%"),
    )
    _draw(
        (table, spec),
        "service_ucope",
        [
            definitions.UCOPE_PATHWAY,
            definitions.metric("ucope_completion_pct"),
            definitions.metric("ucope_reliable_improvement_pct"),
            definitions.metric("ucope_reliable_recovery_pct"),
        ],
    )


def _waiting(ctx: PageContext, scope: Scope, institution: str | None, services: Services) -> None:
    as_of = ctx.as_of_date
    if as_of is None:
        ui.no_data("the warehouse has no as-of date yet.")
        return
    st.caption(
        f"As of {as_of.day} {as_of:%B %Y}, whatever the period chosen above: a waiting list "
        "is today's state, not a period's."
    )
    if institution is None and (scope.institutions is None or len(scope.institutions) > 1):
        _draw(
            sections.waiting_by_institution(ctx.snapshot, scope, as_of, services),
            "service_waiting_institutions",
            [definitions.WAITING_LIST],
        )
        st.caption("Choose an institution in the filter above to see its months and worklist.")
        return
    view = sections.waiting_by_month(
        ctx.snapshot, scope, as_of, services, institution or "my institutions"
    )
    if view is None:
        ui.no_data("nobody is waiting past 6 weeks here.")
        return
    shown, spec, months = view
    _draw((shown, spec), "service_waiting_months", [definitions.WAITING_LIST])
    _worklist(ctx, scope, as_of, services, months)


def _worklist(
    ctx: PageContext, scope: Scope, as_of: date, services: Services, months: list[date]
) -> None:
    if not scope.record_level:
        st.info("Record-level data is not part of your view: the worklist is not shown.")
        return
    options = [ALL_MONTHS, *(m.isoformat() for m in months)]
    chosen = st.selectbox(
        "Worklist for month referred",
        options,
        format_func=lambda o: (
            "All months" if o == ALL_MONTHS else month_label(date.fromisoformat(o))
        ),
        key="service_worklist_month",
    )
    month = None if chosen == ALL_MONTHS else date.fromisoformat(chosen)
    ui.table(
        sections.worklist(ctx.snapshot, scope, as_of, services, month),
        key="service_worklist",
        title="Worklist: still waiting past 6 weeks",
        definitions=[definitions.WAITING_LIST],
        record_level=True,
    )


def render(ctx: PageContext) -> None:
    """Draw the service manager page for the context's scope."""
    last = ui.events_header(ctx, "Service manager", "What is happening at my institution?")
    if last is None:
        return
    end = month_end(last)
    service_names = cached.services(ctx.snapshot)
    cols = st.columns([2, 2, 3])
    with cols[0]:
        institution = filters.institution_filter("service_institution", ctx.scope, ctx.institutions)
    with cols[1]:
        period = filters.date_range(
            "service_period",
            (window_start(last, 12), end),
            (date(2000, 1, 1), ctx.as_of_date or end),
        )
    with cols[2]:
        picked = st.multiselect(
            "Services (referrals only)",
            list(service_names),
            format_func=service_names.__getitem__,
            placeholder="All services",
            key="service_services",
        )
    if period is None:
        return
    start, end = period
    scope = ctx.scope.narrowed_to(institution)
    services = tuple(sorted(picked)) or None
    st.header("Referrals")
    _funnel(ctx, scope, start, end, services)
    st.header("Waiting times")
    _waits(ctx, scope, start, end, services)
    st.header("Liaison service")
    _liaison(ctx, scope, start, end)
    st.header("U-COPE pathway")
    _ucope(ctx, scope, start, end)
    st.header("Still waiting past 6 weeks")
    _waiting(ctx, scope, institution, services)
    ui.disclosure_footnote(scope.disclosure_control)


render(current("service"))
