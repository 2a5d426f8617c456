"""Impact totals: the partnership's figures over a chosen period, for funders and the board.

The definitions are those of ``marts.metrics_monthly`` (see the metric spec), applied to a
whole period instead of one month: each total takes the events whose event date (the
metric's "month of" column) falls in ``[start, end]``, inclusive at both ends. Student
counts are distinct over the whole period, never sums of monthly counts, and the median wait
is the median of every first appointment in the period. The totals are computed from the
fact tables, not from ``metrics_monthly``, because distinct counts and medians cannot be
added up from monthly rows. Each figure's fact table and event date are the metric
catalogue's (``smhp.reporting.catalogue``), filtered to the period by one helper
(``_in_period``); the headcounts are the mart ``dim_institution_populations``.

All values reach DuckDB as bound parameters, never formatted into the SQL text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import duckdb

from smhp import academic_year
from smhp.reporting.catalogue import info

__all__ = [
    "ImpactTotals",
    "impact_totals",
    "impact_totals_by_institution",
    "impact_totals_by_period",
]


@dataclass(frozen=True)
class ImpactTotals:
    """Exact (undisclosed) totals for one period and one institution or the partnership.

    ``referral_completed_waits`` is the base of the two waiting-time figures (referrals
    whose first appointment falls in the period) and ``referral_seen_6wk`` the numerator
    of the share seen within 6 weeks; disclosure control needs both counts (a disclosed
    percentage is calculated from the rounded counts, never from the exact one). The U-COPE
    outcomes likewise: ``ucope_scored_discharges`` (discharged in the period with both
    CORE-10 scores) is the base of ``ucope_reliable_improvement``, and
    ``ucope_recovery_base`` (of those, starting at or above the clinical cut-off) the base of
    ``ucope_reliable_recovery`` (``ucope_reliable_improvement_pct``,
    ``ucope_reliable_recovery_pct``: the monthly metrics' definitions over the period).
    """

    start: date
    end: date
    institution: str | None
    liaison_students: int
    ucope_students: int
    referrals_received: int
    referral_completed_waits: int
    referral_seen_6wk: int
    referral_median_wait_days: float | None
    referral_seen_6wk_pct: float | None
    ucope_scored_discharges: int
    ucope_reliable_improvement: int
    ucope_reliable_improvement_pct: float | None
    ucope_recovery_base: int
    ucope_reliable_recovery: int
    ucope_reliable_recovery_pct: float | None
    institutions: int
    students_enrolled: int
    academic_year: str

    def to_dict(self) -> dict[str, Any]:
        """The totals as a plain dict (dates as ISO strings), e.g. for JSON or a table."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        return out


def _in_period(metric: str, each_period: bool = False) -> str:
    """The fact rows of a catalogued ``metric`` in the period and the institution: the one
    period filter of every figure (the event date of the metric's definition in
    ``[$start, $end]``; ``$inst`` NULL means the whole partnership). ``each_period`` also
    tags each row with the ``n`` of every one of ``periods`` its event date falls in (the
    query of several periods: ``$start``-``$end`` then spans them all)."""
    m = info(metric)
    tag, join = "", ""
    if each_period:
        tag = ", p.n"
        join = f"join periods p on x.{m.event_date} between p.start_on and p.end_on"
    return f"""
    select x.*{tag} from marts.{m.fact} x {join}
    where x.{m.event_date} between $start and $end
      and ($inst is null or x.institution_code = $inst)"""


_SEEN_6WK = info("referral_seen_6wk_pct").numerator
"""The fact flag of a first appointment within 6 weeks (the 6-week standard's numerator)."""
OUTCOME_SHARES: dict[str, tuple[str, str]] = {
    "ucope_reliable_improvement_pct": ("ucope_reliable_improvement", "ucope_scored_discharges"),
    "ucope_reliable_recovery_pct": ("ucope_reliable_recovery", "ucope_recovery_base"),
}
"""The U-COPE outcome percentages of ``ImpactTotals``: each one's count met and the count it
is over (for disclosure control and the pages that show them)."""

_IMPROVED = info("ucope_reliable_improvement_pct").numerator
_RECOVERED = info("ucope_reliable_recovery_pct").numerator


_SOURCES = (
    ("liaison", "liaison_students"),
    ("ucope", "ucope_students"),
    ("received", "referrals_received"),
    ("waits", "referral_completed_waits"),
    ("discussions", "case_discussions"),
    ("discharges", "ucope_discharges"),
)
"""The fact rows each figure counts: a name in the query, and the catalogued metric whose
fact table and event date select them."""


def _figures(key: str, each: str, each_period: bool = False) -> str:
    """The one query of every figure, one row per row of ``each``.

    One query, so that every figure comes from the same snapshot state. The reach counts
    an institution that has any liaison contact, U-COPE episode, referral or case
    discussion whose primary event date falls in the period. Table and column names come
    from the metric catalogue (plain identifiers, checked on loading); values are bound
    parameters. Each figure is grouped by ``key``: nothing (the totals of $inst over
    $start-$end), the institution, or the period of ``periods``. ``each`` lists the rows
    to answer (``k``) with the academic year of their headcounts, so a row with no
    activity still gets its zeros. One text for all three queries, so they can never
    differ; grouped rather than one subquery per row, so that many rows cost about what
    one does.
    """
    sources = ",\n".join(
        f"{name} as ({_in_period(metric, each_period)})" for name, metric in _SOURCES
    )
    periods = (
        "periods as (select unnest($starts) as start_on, unnest($ends) as end_on,"
        " unnest($years) as academic_year, unnest($ns) as n),"
        if each_period
        else ""
    )
    return f"""
with {periods}
each as ({each}),
{sources},
active_institutions as (
    select {key} as k, institution_code from liaison
    union select {key}, institution_code from ucope
    union select {key}, institution_code from received
    union select {key}, institution_code from discussions
)
select
    each.k,
    coalesce(l.students, 0),
    coalesce(u.students, 0),
    coalesce(r.referrals, 0),
    coalesce(w.completed, 0),
    coalesce(w.seen_6wk, 0),
    w.median_wait,
    w.seen_6wk_pct,
    coalesce(d.scored, 0),
    coalesce(d.improved, 0),
    coalesce(d.recovery_base, 0),
    coalesce(d.recovered, 0),
    coalesce(a.institutions, 0),
    coalesce(e.students, 0)
from each
left join (select {key} as k, count(distinct student_key) as students from liaison group by 1)
    as l on l.k = each.k
left join (select {key} as k, count(distinct student_key) as students from ucope group by 1)
    as u on u.k = each.k
left join (select {key} as k, count(*) as referrals from received group by 1)
    as r on r.k = each.k
left join (
    select {key} as k,
        count(*) as completed,
        count(*) filter (where {_SEEN_6WK}) as seen_6wk,
        quantile_cont(wait_days, 0.5) as median_wait,
        100.0 * count(*) filter (where {_SEEN_6WK}) / count(*) as seen_6wk_pct
    from waits group by 1
) as w on w.k = each.k
left join (
    select {key} as k,
        count(*) filter (where has_both_scores) as scored,
        count(*) filter (where {_IMPROVED}) as improved,
        count(*) filter (where in_recovery_base) as recovery_base,
        count(*) filter (where {_RECOVERED}) as recovered
    from discharges group by 1
) as d on d.k = each.k
left join (select k, count(*) as institutions from active_institutions group by 1)
    as a on a.k = each.k
left join (
    select x.k, sum(p.students) as students
    from active_institutions x
    join each as y on y.k = x.k
    join marts.dim_institution_populations p
      on p.institution_code = x.institution_code and p.academic_year = y.academic_year
    group by 1
) as e on e.k = each.k
order by each.k
"""


_SQL = _figures(key="0", each="select 0 as k, $year as academic_year")
_SQL_EACH = _figures(
    key="institution_code",
    each="select unnest($codes) as k, $year as academic_year",
)
_SQL_PERIODS = _figures(
    key="n",
    each="select n as k, academic_year from periods",
    each_period=True,
)


def _pct(part: int, whole: int) -> float | None:
    """100 × part / whole on a 0-100 scale, unrounded; None over nothing."""
    return 100.0 * part / whole if whole else None


def impact_totals(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    institution: str | None = None,
) -> ImpactTotals:
    """Impact totals over ``[start, end]`` (inclusive) for one institution or, if ``None``, all.

    Students enrolled: the sum of the headcounts, in the academic year containing ``end``,
    of the institutions counted in ``institutions`` (those with any activity in the period).
    The year of ``end`` is used because a funder asks "how many students could the
    partnership reach by the end of the period"; summing headcounts over several years would
    count the same students once per year. An active institution with no headcount row for
    that year adds nothing (as in ``referrals_per_1000_students``, no headcount, no figure).

    Percentages are on a 0-100 scale and unrounded; the median is interpolated. Both are
    ``None`` when no first appointment falls in the period (the U-COPE outcome percentages
    when their base is empty). The result is exact: apply
    ``smhp.reporting.disclosure.apply_to_impact`` before it leaves the board's own view.
    """
    year = _year_of(start, end)
    row = con.execute(
        _SQL, {"start": start, "end": end, "inst": institution, "year": year}
    ).fetchone()
    assert row is not None  # one row of ``each``, always
    return _totals(start, end, institution, year, row[1:])


def impact_totals_by_institution(
    con: duckdb.DuckDBPyConnection, start: date, end: date, institutions: list[str]
) -> list[ImpactTotals]:
    """``impact_totals`` of each of ``institutions`` (in code order), in one query: the same
    text narrowed per institution, so a funder page of many institutions (a national
    roll-out: 270) does not run one query each."""
    year = _year_of(start, end)
    rows = con.execute(
        _SQL_EACH,
        {"start": start, "end": end, "inst": None, "year": year, "codes": list(institutions)},
    ).fetchall()
    return [_totals(start, end, row[0], year, row[1:]) for row in rows]


def impact_totals_by_period(
    con: duckdb.DuckDBPyConnection,
    periods: list[tuple[date, date]],
    institution: str | None = None,
) -> list[ImpactTotals]:
    """``impact_totals`` of each of ``periods`` (``(start, end)``, in the order given) for one
    institution or all, in one query: the same text narrowed per period, so the funder
    page's academic years (and a pack's) do not run one query each."""
    if not periods:
        return []
    years = [_year_of(start, end) for start, end in periods]
    params = {
        "start": min(start for start, _ in periods),
        "end": max(end for _, end in periods),
        "inst": institution,
        "starts": [start for start, _ in periods],
        "ends": [end for _, end in periods],
        "years": years,
        "ns": list(range(len(periods))),
    }
    rows = con.execute(_SQL_PERIODS, params).fetchall()
    return [
        _totals(start, end, institution, year, row[1:])
        for (start, end), year, row in zip(periods, years, rows, strict=True)
    ]


def _year_of(start: date, end: date) -> str:
    if end < start:
        raise ValueError(f"The period ends ({end}) before it starts ({start}).")
    return academic_year.label(end)


def _totals(start: date, end: date, institution: str | None, year: str, row: tuple) -> ImpactTotals:
    (
        liaison_students,
        ucope_students,
        referrals_received,
        completed_waits,
        seen_6wk,
        median_wait,
        seen_pct,
        scored,
        improved,
        recovery_base,
        recovered,
        institutions,
        enrolled,
    ) = row
    return ImpactTotals(
        start=start,
        end=end,
        institution=institution,
        liaison_students=int(liaison_students),
        ucope_students=int(ucope_students),
        referrals_received=int(referrals_received),
        referral_completed_waits=int(completed_waits),
        referral_seen_6wk=int(seen_6wk),
        referral_median_wait_days=None if median_wait is None else float(median_wait),
        referral_seen_6wk_pct=None if seen_pct is None else float(seen_pct),
        ucope_scored_discharges=int(scored),
        ucope_reliable_improvement=int(improved),
        ucope_reliable_improvement_pct=_pct(improved, scored),
        ucope_recovery_base=int(recovery_base),
        ucope_reliable_recovery=int(recovered),
        ucope_reliable_recovery_pct=_pct(recovered, recovery_base),
        institutions=int(institutions),
        students_enrolled=int(enrolled),
        academic_year=year,
    )
