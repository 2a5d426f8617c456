"""What the service manager page shows, worked out from its cached queries: each
section's table and chart (built: ``charts.Drawn``), cached per snapshot, scope and filters
(``dashboard.cached.derived``) and keyed by them, never by the rows.

In a module of its own, not in the page script: Streamlit runs a page script again on
every view, and each run would wrap these functions in its cache again (reading their
source to name the cache). The page (``dashboard/views/service.py``) only draws.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard import cached, charts
from dashboard.disclose import round_shown
from dashboard.queries.service import LONGEST_WEEK_SHOWN
from dashboard.series import month_label
from dashboard.theme import CONCERN, IMPROVEMENT, NEUTRAL, OKABE_ITO
from smhp.access import Scope

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
Services = tuple[str, ...] | None
Shown = tuple[pd.DataFrame, charts.Drawn]
"""A section's table as shown and its chart."""


def _label(mapping: dict[str, str], code: str) -> str:
    return mapping.get(code, code.replace("_", " ").capitalize())


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
    return shown, charts.drawn(fig)


@cached.derived
def funnel(snapshot: str, scope: Scope, start: date, end: date, services: Services) -> Shown | None:
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


@cached.derived
def waits(snapshot: str, scope: Scope, start: date, end: date, services: Services) -> Shown:
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
    return shown, charts.drawn(charts.add_vertical_marks(fig, {6.5: "6 weeks", 18.5: "18 weeks"}))


@cached.derived
def liaison(snapshot: str, scope: Scope, start: date, end: date) -> Shown | None:
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


@cached.derived
def ucope(
    snapshot: str, scope: Scope, start: date, end: date
) -> tuple[pd.Series, pd.DataFrame, charts.Drawn] | None:
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
    return shown, table, charts.drawn(fig)


@cached.derived
def waiting_by_institution(snapshot: str, scope: Scope, as_of: date, services: Services) -> Shown:
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
    return shown, charts.drawn(fig)


@cached.derived
def waiting_by_month(
    snapshot: str, scope: Scope, as_of: date, services: Services, where: str
) -> tuple[pd.DataFrame, charts.Drawn, list[date]] | None:
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
    return shown[["Month referred", "Referrals waiting past 6 weeks"]], charts.drawn(fig), months


@cached.derived
def worklist(
    snapshot: str, scope: Scope, as_of: date, services: Services, month: date | None
) -> pd.DataFrame:
    """The pseudonymous worklist of referrals still waiting past 6 weeks (of ``month``
    referred, or all months), with its column headings."""
    return cached.waiting_worklist(snapshot, scope, as_of, services, month).rename(
        columns={
            "referral_id": "Referral",
            "student": "Student (pseudonym)",
            "institution": "Institution",
            "service": "Service",
            "referred_on": "Referred on",
            "days_waiting": "Days waiting",
        }
    )
