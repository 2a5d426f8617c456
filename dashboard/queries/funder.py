"""Queries of the funder impact summary: ``smhp impact`` totals for a period, by
institution and by academic year, and the share of each service standard met.

The totals are ``smhp.impact.impact_totals`` itself, never a copy of its SQL, so that the
page and ``smhp impact`` give the same figures (429 and 299 for the funded project on
the demo data). ``impact_totals`` answers for one institution or the whole partnership,
so a scope of several institutions gets its institutions one by one.

Disclosure control is applied here, before anything is returned, wherever the scope
says so (the funder page always does: ``with_scope_of``): ``smhp.disclosure.apply_to_impact``
on each set of totals, exact only for partnership-wide totals over the whole funded
period (``exact_allowed``), and the count rule on the standards' counts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.catalog import WAIT_18WK_TARGET, info
from dashboard.data import IN_SCOPE, Scope, read_frame
from dashboard.disclose import Count, Statistic, disclose
from dashboard.queries.service import WEEKS_18_DAYS
from smhp.disclosure import apply_to_impact
from smhp.impact import ImpactTotals, academic_year, impact_totals
from smhp.warehouse import open_published

FUNDED_PERIOD = (date(2019, 6, 1), date(2022, 7, 31))
"""The funded project period, the page's default."""


Shown = dict[str, Any]
"""Impact totals as the scope may see them: ``ImpactTotals.to_dict()``, disclosed."""


def _institution(scope: Scope) -> str | None:
    """The ``impact_totals`` argument of a scope of all or one institution."""
    if scope.institutions is None:
        return None
    if len(scope.institutions) == 1:
        return scope.institutions[0]
    raise ValueError("Impact totals are for the whole partnership or one institution.")


def _nothing(start: date, end: date) -> ImpactTotals:
    """The totals of the empty scope: nothing (never the partnership's)."""
    return ImpactTotals(start, end, "", 0, 0, 0, 0, None, None, 0, 0, academic_year(end))


def _shown(totals: ImpactTotals, scope: Scope, exact_all: bool) -> Shown:
    if not scope.disclosure_control:
        return totals.to_dict()
    return apply_to_impact(totals, exact_all=exact_all and totals.institution is None)


def totals(snapshot: Path | str, scope: Scope, start: date, end: date) -> Shown:
    """The impact totals of the scope (all institutions or one) over the period, as the
    scope may see them (exact only partnership-wide over the whole funded period)."""
    if scope.is_empty:
        return _shown(_nothing(start, end), scope, False)
    con = open_published(snapshot)
    try:
        exact = impact_totals(con, start, end, _institution(scope))
    finally:
        con.close()
    return _shown(exact, scope, exact_allowed(scope, start, end))


def by_institution(snapshot: Path | str, scope: Scope, start: date, end: date) -> list[Shown]:
    """The impact totals of each institution of the scope over the period (a part of the
    partnership: always disclosed under the scope's disclosure control)."""
    con = open_published(snapshot)
    try:
        codes = con.execute(
            f"select institution_code from marts.dim_institutions where {IN_SCOPE} order by 1",
            scope.params(),
        ).fetchall()
        exact = [impact_totals(con, start, end, code) for (code,) in codes]
    finally:
        con.close()
    return [_shown(t, scope, False) for t in exact]


def academic_year_slices(start: date, end: date) -> list[tuple[str, date, date]]:
    """The period cut at academic-year boundaries (1 August): (year, first day, last day)."""
    slices = []
    first = start
    while first <= end:
        year = academic_year(first)
        year_end = date(int(year[:4]) + 1, 7, 31)
        last = min(end, year_end)
        slices.append((year, first, last))
        first = date(year_end.year, 8, 1)
    return slices


def by_year(snapshot: Path | str, scope: Scope, start: date, end: date) -> list[tuple[str, Shown]]:
    """The impact totals of each academic year (or part of one) within the period, with
    the same definitions as the whole period (students distinct within each year); a
    year is a part of the whole: always disclosed under the scope's disclosure control."""
    slices = academic_year_slices(start, end)
    if scope.is_empty:
        return [(y, _shown(_nothing(a, b), scope, False)) for y, a, b in slices]
    institution = _institution(scope)
    con = open_published(snapshot)
    try:
        exact = [(y, impact_totals(con, a, b, institution)) for y, a, b in slices]
    finally:
        con.close()
    return [(year, _shown(t, scope, False)) for year, t in exact]


_STANDARDS_SQL = f"""
select 'referral_seen_6wk_pct' as standard,
       count(*) as base, count(*) filter (where seen_within_6wk) as met
from marts.fct_referrals
where {IN_SCOPE} and first_appointment_on between $start and $end
union all
select 'referral_seen_18wk_pct',
       count(*), count(*) filter (where wait_days <= $w18)
from marts.fct_referrals
where {IN_SCOPE} and first_appointment_on between $start and $end
union all
select 'ucope_assessed_14d_pct',
       count(*), count(*) filter (where assessed_within_14d)
from marts.fct_ucope_episodes
where {IN_SCOPE} and assessed_on between $start and $end
union all
select 'liaison_informed_72h_pct',
       count(*), count(*) filter (where informed_within_72h)
from marts.fct_liaison_contacts
where {IN_SCOPE} and presented_on between $start and $end
"""

_STANDARD_LABELS = {
    "referral_seen_6wk_pct": "Seen within 6 weeks",
    "referral_seen_18wk_pct": "Seen within 18 weeks",
    "ucope_assessed_14d_pct": "U-COPE assessed within 14 days",
    "liaison_informed_72h_pct": "University informed within 72 hours",
}


def standards(snapshot: Path | str, scope: Scope, start: date, end: date) -> pd.DataFrame:
    """Each service standard over the period: its base (records measured, by the month-of
    rule of its monthly metric), how many met it, the percentage and the target; under
    the scope's disclosure control, the counts rounded and the percentage hidden on a
    base under 8."""
    frame = read_frame(
        snapshot,
        _STANDARDS_SQL,
        {**scope.params(), "start": start, "end": end, "w18": WEEKS_18_DAYS},
    )
    frame["label"] = frame["standard"].map(_STANDARD_LABELS)
    frame["pct"] = [
        None if b == 0 else 100.0 * m / b for m, b in zip(frame["met"], frame["base"], strict=True)
    ]
    frame["target"] = [
        WAIT_18WK_TARGET if s == "referral_seen_18wk_pct" else info(s).target
        for s in frame["standard"]
    ]
    return disclose(
        frame, [Count("base"), Count("met"), Statistic("pct", "base")], scope.disclosure_control
    )


def exact_allowed(scope: Scope, start: date, end: date) -> bool:
    """Whether the totals may be exact: partnership-wide, over the whole funded period.

    The spec lets "partnership-wide totals over the whole period" be exact. A shorter
    period is a part of the whole and is rounded like any other breakdown, so that
    totals for neighbouring periods cannot be subtracted to reveal a small number.
    """
    return scope.institutions is None and start <= FUNDED_PERIOD[0] and end >= FUNDED_PERIOD[1]


def with_scope_of(scope: Scope, institution: str | None) -> Scope:
    """The funder view of ``scope``: narrowed to ``institution`` and always disclosed.

    The funder summary is the view meant to leave the board (metric spec: disclosure
    control for "the funder view, every export meant for funders"), so disclosure applies
    whoever opens it, the board included: what the board sees is what the funder gets.
    """
    return replace(scope.narrowed_to(institution), disclosure_control=True, record_level=False)
