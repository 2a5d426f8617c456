"""Service manager: "What is happening at my institution?"

Filters (institution, period, service) narrow the viewer's scope; the sections follow a
student's path: referrals and what became of them, how long they waited, the liaison
service's work, the U-COPE pathway, and who is still waiting past 6 weeks, drilled down
from the partnership to an institution, a month and a pseudonymous worklist.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import cached, charts, definitions, filters, ui
from dashboard.context import PageContext, current
from dashboard.disclose import round_shown
from dashboard.queries.service import LONGEST_WEEK_SHOWN
from dashboard.series import fmt, month_end, month_label, window_start
from dashboard.theme import CONCERN, IMPROVEMENT, NEUTRAL, OKABE_ITO
from smhp.access import Scope
from smhp.reporting.catalogue import info

OUTCOME_LABELS = {
    "seen": "Seen",
    "did_not_attend": "Did not attend",
    "declined": "Declined",
    "signposted": "Signposted",
    "withdrawn": "Withdrawn",
    "waiting": "Still waiting",
}
LIAISON_OUTCOMES = {
    "brief_intervention": "Brief intervention",
    "signposting": "Signposting",
    "referral": "Referral",
}
SETTINGS = {
    "emergency_department": "Emergency department",
    "crisis_line": "Crisis line",
    "urgent_gp": "Urgent GP",
    "nhs_111": "NHS 111",
    "other": "Other",
}
FUNNEL_COLOURS = {
    "Received": NEUTRAL,
    "First appointment": IMPROVEMENT,
    "Seen": OKABE_ITO[2],
    "Did not attend": CONCERN,
    "Declined": OKABE_ITO[3],
    "Signposted": OKABE_ITO[4],
    "Withdrawn": OKABE_ITO[5],
    "Still waiting": "#444444",
}
ALL_MONTHS = "all"
Services = tuple[str, ...] | None


def _label(mapping: dict[str, str], code: str) -> str:
    return mapping.get(code, code.replace("_", " ").capitalize())


# What each section works out from its queries (labels, bands, the chart's figure) is
# cached per snapshot, scope and filters (``cached.derived``) and keyed by them, not by
# the rows: the ``_..._view`` functions below read the (cached) queries themselves and
# return the table shown and the chart's figure as a dict (``cached.figure_from``).
Shown = tuple[pd.DataFrame, dict]


def _stacked(
    shown: pd.DataFrame,
    labels: dict[str, str],
    *,
    title: str,
    colours: dict[str, str] | None = None,
) -> Shown:
    """The funnel's and the liaison mix's table and chart: ``labels`` names the table's
    columns (category, part, count, in that order); a horizontal bar per category, stacked
    by part, as long as the count."""
    category, part, count = labels.values()
    shown = shown.rename(columns=labels)
    fig = charts.bars(
        shown,
        category,
        count,
        color=part,
        horizontal=True,
        title=title,
        x_title=count,
        y_title=None,
        colours=colours,
    )
    return shown, fig.to_dict()


def _draw(view: Shown, key: str, defs: list[str], notes: list[str] | None = None) -> None:
    """A section's chart and table (``view``), its definitions ``defs``."""
    shown, spec = view
    ui.figure(cached.figure_from(spec), shown, key=key, definitions=defs, notes=notes or [])


@cached.derived
def _funnel_view(
    snapshot: str, scope: Scope, start: date, end: date, services: Services
) -> Shown | None:
    shown = cached.referral_funnel(snapshot, scope, start, end, services)
    if shown["referrals"].iloc[0] == 0:
        return None
    shown["category"] = [
        _label(OUTCOME_LABELS, c) if s == "Outcome" else c
        for s, c in zip(shown["stage"], shown["category"], strict=True)
    ]
    return _stacked(
        shown,
        {"stage": "Stage", "category": "Category", "referrals": "Referrals"},
        title="What happened to the referrals received",
        colours=FUNNEL_COLOURS,
    )


def _funnel(ctx: PageContext, scope: Scope, start: date, end: date, services: Services) -> None:
    view = _funnel_view(ctx.snapshot, scope, start, end, services)
    if view is None:
        ui.no_data("no referrals were received in this period.")
        return
    _draw(view, "service_funnel", [definitions.REFERRAL_FUNNEL])


@cached.derived
def _waits_view(snapshot: str, scope: Scope, start: date, end: date, services: Services) -> Shown:
    """The weeks waited for a first appointment, by band, with the 6- and 18-week marks."""
    shown = cached.wait_weeks(snapshot, scope, start, end, services)
    shown["Weeks waited"] = [
        f"over {LONGEST_WEEK_SHOWN}" if w > LONGEST_WEEK_SHOWN else str(w) for w in shown["weeks"]
    ]
    shown["Band"] = [
        "Within 6 weeks" if a else "6 to 18 weeks" if b else "Over 18 weeks"
        for a, b in zip(shown["within_6wk"], shown["within_18wk"], strict=True)
    ]
    shown = shown.rename(columns={"referrals": "Referrals"})[["Weeks waited", "Band", "Referrals"]]
    fig = charts.bars(
        shown,
        "Weeks waited",
        "Referrals",
        color="Band",
        title="Weeks waited for a first appointment",
        x_title="Weeks waited (rounded up)",
        y_title="Referrals",
        colours={
            "Within 6 weeks": IMPROVEMENT,
            "6 to 18 weeks": NEUTRAL,
            "Over 18 weeks": CONCERN,
        },
    )
    # Every week has a bar (0 to the cap), so bar i sits at i: a mark after bar 6 is 6.5.
    return shown, charts.add_vertical_marks(fig, {6.5: "6 weeks", 18.5: "18 weeks"}).to_dict()


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
        _waits_view(ctx.snapshot, scope, start, end, services),
        "service_waits",
        [definitions.WAIT_BANDS, definitions.metric("referral_seen_6wk_pct")],
        notes=[info("referral_seen_6wk_pct").target_note or ""],
    )


@cached.derived
def _liaison_view(snapshot: str, scope: Scope, start: date, end: date) -> Shown | None:
    shown = cached.liaison_mix(snapshot, scope, start, end)
    if shown.empty:
        return None
    shown["setting"] = [_label(SETTINGS, s) for s in shown["setting"]]
    shown["outcome"] = [_label(LIAISON_OUTCOMES, o) for o in shown["outcome"]]
    return _stacked(
        shown,
        {"setting": "Setting", "outcome": "Outcome", "contacts": "Contacts"},
        title="Liaison contacts by setting and outcome",
    )


def _liaison(ctx: PageContext, scope: Scope, start: date, end: date) -> None:
    view = _liaison_view(ctx.snapshot, scope, start, end)
    if view is None:
        ui.no_data("no liaison contacts were presented in this period.")
        return
    _draw(view, "service_liaison", [definitions.LIAISON_MIX])


@cached.derived
def _ucope_view(
    snapshot: str, scope: Scope, start: date, end: date
) -> tuple[pd.Series, pd.DataFrame, dict] | None:
    """The pathway's figures as shown (rounded), its table and its chart."""
    path = cached.ucope_pathway(snapshot, scope, start, end)
    if path["referred"] == 0:
        return None
    shown = round_shown(
        pd.DataFrame([path]), {"completion_pct": 1, "improvement_pct": 1, "recovery_pct": 1}
    ).iloc[0]
    stages = pd.DataFrame(
        {
            "Stage": ["Referred", "Assessed", "Assessed within 14 days", "Discharged", "Completed"],
            "Episodes": [
                shown[k]
                for k in ("referred", "assessed", "assessed_14d", "discharged", "completed")
            ],
        }
    )
    fig = charts.bars(
        stages,
        "Stage",
        "Episodes",
        horizontal=True,
        title="U-COPE pathway of the episodes referred",
        x_title="Episodes",
        y_title=None,
    )
    table = pd.concat(
        [
            stages,
            pd.DataFrame(
                {
                    "Stage": [
                        "Completed (% of discharged)",
                        "Discharged with both CORE-10 scores",
                        "Reliable improvement",
                        "Reliable improvement (% of those with both scores)",
                        "Discharged with both scores, starting at 11 or more",
                        "Reliable recovery",
                        "Reliable recovery (% of those starting at 11 or more)",
                    ],
                    "Episodes": [
                        shown["completion_pct"],
                        shown["with_both_scores"],
                        shown["reliable_improvement"],
                        shown["improvement_pct"],
                        shown["in_recovery_base"],
                        shown["reliable_recovery"],
                        shown["recovery_pct"],
                    ],
                }
            ),
        ],
        ignore_index=True,
    )
    return shown, table, fig.to_dict()


def _ucope(ctx: PageContext, scope: Scope, start: date, end: date) -> None:
    view = _ucope_view(ctx.snapshot, scope, start, end)
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


@cached.derived
def _waiting_by_institution_view(
    snapshot: str, scope: Scope, as_of: date, services: Services
) -> Shown:
    shown = cached.waiting_by_institution(snapshot, scope, as_of, services).rename(
        columns={
            "institution_code": "Institution",
            "institution_name": "Name",
            "referrals": "Referrals waiting past 6 weeks",
        }
    )
    fig = charts.bars(
        shown,
        "Institution",
        "Referrals waiting past 6 weeks",
        title="Still waiting past 6 weeks, by institution",
        x_title="Institution",
        y_title="Referrals",
    )
    return shown, fig.to_dict()


@cached.derived
def _waiting_by_month_view(
    snapshot: str, scope: Scope, as_of: date, services: Services, where: str
) -> tuple[pd.DataFrame, dict, list[date]] | None:
    """The referrals still waiting by month referred, their chart and the months."""
    shown = cached.waiting_by_month(snapshot, scope, as_of, services)
    if shown.empty:
        return None
    months = list(shown["month"])
    shown["Month referred"] = [month_label(m) for m in shown["month"]]
    shown = shown.rename(columns={"referrals": "Referrals waiting past 6 weeks"})
    fig = charts.bars(
        shown,
        "Month referred",
        "Referrals waiting past 6 weeks",
        title=f"Still waiting past 6 weeks at {where}, by month referred",
        x_title="Month referred",
        y_title="Referrals",
    )
    return shown[["Month referred", "Referrals waiting past 6 weeks"]], fig.to_dict(), months


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
            _waiting_by_institution_view(ctx.snapshot, scope, as_of, services),
            "service_waiting_institutions",
            [definitions.WAITING_LIST],
        )
        st.caption("Choose an institution in the filter above to see its months and worklist.")
        return
    view = _waiting_by_month_view(
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
    rows = cached.waiting_worklist(ctx.snapshot, scope, as_of, services, month)
    shown = rows.rename(
        columns={
            "referral_id": "Referral",
            "student": "Student (pseudonym)",
            "institution": "Institution",
            "service": "Service",
            "referred_on": "Referred on",
            "days_waiting": "Days waiting",
        }
    )
    ui.table(
        shown,
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
