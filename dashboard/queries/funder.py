"""Queries of the funder impact summary: ``smhp impact`` totals for a release period, by
institution and by academic year, and the share of each service standard met.

The totals are ``smhp.reporting.impact.impact_totals`` itself, never a copy of its SQL, so that the
page and ``smhp impact`` give the same figures (429 and 299 for the funded project on
the demo data). ``impact_totals`` answers for one institution or the whole partnership,
so a scope of several institutions gets its institutions one by one.

Every figure here leaves the board's view, so each query takes a *release period*
(``smhp.reporting.release_periods``: a whole month, quarter, academic year or the funded period,
never a free range) and applies disclosure control before anything is returned, wherever
the scope says so (the funder page always does: ``with_scope_of``): one cell function per
figure (``smhp.reporting.disclosure``), exact only in the one cell the spec allows
(partnership-wide, exactly the whole funded period) and there only for the counts whose
exact value reveals no other figure (``smhp.reporting.released.exact_figures``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.data import IN_SCOPE, read_frame
from smhp import academic_year
from smhp.access import Scope
from smhp.reporting.catalogue import WAIT_18WK_TARGET, info
from smhp.reporting.disclosure import apply_to_impact, percentage, suppress_count
from smhp.reporting.impact import (
    ImpactTotals,
    impact_totals,
    impact_totals_by_institution,
    impact_totals_by_period,
)
from smhp.reporting.release_periods import ReleasePeriod, check_release, released_periods
from smhp.reporting.released import MEASURES, exact_figures
from smhp.warehouse import open_published

Shown = dict[str, Any]
"""Impact totals as the scope may see them: ``ImpactTotals.to_dict()``, disclosed."""

HEADLINES = (
    ("liaison_students", "Students supported by the liaison service", "{:,.0f}"),
    ("ucope_students", "Students supported by U-COPE", "{:,.0f}"),
    ("referrals_received", "Referrals received", "{:,.0f}"),
    ("referral_median_wait_days", "Median wait for a first appointment", "{:.1f} days"),
    ("referral_seen_6wk_pct", "Seen within 6 weeks", "{:.1f}%"),
    ("institutions", "Institutions reached", "{:,.0f}"),
    ("students_enrolled", "Students enrolled at those institutions", "{:,.0f}"),
)
"""The funder page's totals, in order: (key of ``ImpactTotals``, label, format)."""

OUTCOMES = (
    # (percentage of ImpactTotals, its label, the label of the count it is over)
    (
        "ucope_reliable_improvement_pct",
        "Reliable improvement",
        "Discharged with both CORE-10 scores",
    ),
    (
        "ucope_reliable_recovery_pct",
        "Reliable recovery",
        "Discharged with both scores, starting at 11 or more",
    ),
)
"""The U-COPE outcomes shown to funders (and in the packs), in order."""


def _institution(scope: Scope) -> str | None:
    """The ``impact_totals`` argument of a scope of all or one institution."""
    if scope.institutions is None:
        return None
    if len(scope.institutions) == 1:
        return scope.institutions[0]
    raise ValueError("Impact totals are for the whole partnership or one institution.")


def _nothing(period: ReleasePeriod) -> ImpactTotals:
    """The totals of the empty scope: nothing (never the partnership's)."""
    year = academic_year.label(period.end)
    return ImpactTotals(
        period.start, period.end, "", 0, 0, 0, 0, 0, None, None, 0, 0, None, 0, 0, None, 0, 0, year
    )


def _released(scope: Scope, period: ReleasePeriod, institution: str | None) -> None:
    """Refuse, under disclosure control, a cell that is not released (one institution's
    month or quarter: ``smhp.reporting.release_periods.check_release``)."""
    if scope.disclosure_control:
        check_release(period, institution)


def exact_in(snapshot: Path | str, scope: Scope, period: ReleasePeriod) -> frozenset[str]:
    """The figures the scope's cell for ``period`` shows exactly (``smhp.reporting.released``): none
    but in the one cell the spec allows, and there only the safe ones."""
    if scope.is_empty or not scope.disclosure_control:
        return frozenset()
    return exact_figures(snapshot, period, _institution(scope))


def _shown(totals: ImpactTotals, scope: Scope, exact: frozenset[str]) -> Shown:
    if not scope.disclosure_control:
        return totals.to_dict()
    return apply_to_impact(totals, exact)


def totals(snapshot: Path | str, scope: Scope, period: ReleasePeriod) -> Shown:
    """The impact totals of the scope (all institutions or one) over the release period,
    as the scope may see them (exact only partnership-wide over the whole funded period)."""
    if scope.is_empty:
        return _shown(_nothing(period), scope, frozenset())
    _released(scope, period, _institution(scope))
    con = open_published(snapshot)
    try:
        exact = impact_totals(con, period.start, period.end, _institution(scope))
    finally:
        con.close()
    return _shown(exact, scope, exact_in(snapshot, scope, period))


def by_institution(snapshot: Path | str, scope: Scope, period: ReleasePeriod) -> list[Shown]:
    """The impact totals of each institution of the scope over the release period (a part
    of the partnership: never exact; academic years and the funded period only)."""
    con = open_published(snapshot)
    try:
        codes = con.execute(
            f"select institution_code from marts.dim_institutions where {IN_SCOPE} order by 1",
            scope.params(),
        ).fetchall()
        for (code,) in codes:
            _released(scope, period, code)
        exact = impact_totals_by_institution(
            con, period.start, period.end, [code for (code,) in codes]
        )
    finally:
        con.close()
    return [_shown(t, scope, frozenset()) for t in exact]


def by_year(
    snapshot: Path | str, scope: Scope, first_day: date, as_of: date
) -> list[tuple[ReleasePeriod, Shown]]:
    """The impact totals of every whole academic year from ``first_day`` that has ended by
    ``as_of``, oldest first (each a release period of its own: the same figures as when
    that year is chosen on its own)."""
    years = released_periods(first_day, as_of, "academic_year")[::-1]
    if scope.is_empty:
        return [(y, _shown(_nothing(y), scope, frozenset())) for y in years]
    con = open_published(snapshot)
    try:
        periods = [(year.start, year.end) for year in years]
        exact = impact_totals_by_period(con, periods, _institution(scope))
    finally:
        con.close()
    return [(year, _shown(t, scope, frozenset())) for year, t in zip(years, exact, strict=True)]


@dataclass(frozen=True)
class Standard:
    """A service standard on the funder page: its label and target, and the released
    measures (``smhp.reporting.released.MEASURES``) of its base and of those meeting it."""

    standard: str
    label: str
    target: float | None
    base: str
    met: str

    def sql(self) -> str:
        """One row (standard, base, met) of the scope's records over ``$start``-``$end``."""
        base, met = MEASURES[self.base], MEASURES[self.met]
        if (base.table, base.on) != (met.table, met.on):
            raise ValueError(f"{self.met} is not a subset of {self.base}")
        return (
            f"select '{self.standard}' as standard, count(*) as base, "
            f"count(*) filter (where {met.where}) as met from {base.table} "
            f"where {IN_SCOPE} and ({base.where}) and {base.on} between $start and $end"
        )


def _catalogued(standard: str, met: str) -> Standard:
    """A standard that is a catalogued metric: label, target and base from the catalogue."""
    m = info(standard)
    if m.base is None:
        raise ValueError(f"{standard} has no published base")
    return Standard(standard, m.label, m.target, m.base, met)


STANDARDS: tuple[Standard, ...] = (
    _catalogued("referral_seen_6wk_pct", "referral_seen_6wk"),
    # Not a monthly metric: the NHS 18-week standard on the same base (the catalogue's).
    Standard(
        "referral_seen_18wk_pct",
        "Seen within 18 weeks",
        WAIT_18WK_TARGET,
        "referral_completed_waits",
        "referral_seen_18wk",
    ),
    _catalogued("ucope_assessed_14d_pct", "ucope_assessed_14d"),
    _catalogued("liaison_informed_72h_pct", "liaison_informed_72h"),
)
"""The service standards the funder page shows, in order."""

_STANDARDS_SQL = "\nunion all\n".join(s.sql() for s in STANDARDS)
_BY_ID = {s.standard: s for s in STANDARDS}


def standards(snapshot: Path | str, scope: Scope, period: ReleasePeriod) -> pd.DataFrame:
    """Each service standard over the release period: its base (records measured, by the
    month-of rule of its monthly metric), how many met it, the percentage and the target;
    under the scope's disclosure control the counts rounded and the percentage
    recalculated from them (exact only where the cell's counts may be: ``exact_in``)."""
    if not scope.is_empty:
        _released(scope, period, _institution(scope))
    frame = read_frame(
        snapshot,
        _STANDARDS_SQL,
        {**scope.params(), "start": period.start, "end": period.end},
    )
    frame["label"] = [_BY_ID[s].label for s in frame["standard"]]
    frame["target"] = [_BY_ID[s].target for s in frame["standard"]]
    if not scope.disclosure_control:
        frame["pct"] = [
            None if b == 0 else 100.0 * m / b
            for m, b in zip(frame["met"], frame["base"], strict=True)
        ]
        return frame
    exact = exact_in(snapshot, scope, period)
    base_exact = [_BY_ID[s].base in exact for s in frame["standard"]]
    met_exact = [_BY_ID[s].met in exact for s in frame["standard"]]
    pct = [
        percentage(m, b, be and me)
        for m, b, be, me in zip(frame["met"], frame["base"], base_exact, met_exact, strict=True)
    ]
    frame["base"] = pd.Series(
        [suppress_count(b, e) for b, e in zip(frame["base"], base_exact, strict=True)],
        dtype=object,
    )
    frame["met"] = pd.Series(
        [suppress_count(m, e) for m, e in zip(frame["met"], met_exact, strict=True)],
        dtype=object,
    )
    frame["pct"] = pd.Series(pct, dtype=object)
    return frame


def with_scope_of(scope: Scope, institution: str | None) -> Scope:
    """The funder view of ``scope``: narrowed to ``institution`` and always disclosed.

    The funder summary is the view meant to leave the board (metric spec: disclosure
    control for "the funder view, every export meant for funders"), so disclosure applies
    whoever opens it, the board included: what the board sees is what the funder gets.
    """
    return replace(scope.narrowed_to(institution), disclosure_control=True, record_level=False)
