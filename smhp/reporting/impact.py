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

__all__ = ["ImpactTotals", "impact_totals", "impact_totals_by_institution"]


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


def _in_period(metric: str) -> str:
    """The fact rows of a catalogued ``metric`` in the period and the institution: the one
    period filter of every figure (the event date of the metric's definition in
    ``[$start, $end]``; ``$inst`` NULL means the whole partnership)."""
    m = info(metric)
    return f"""
    select * from marts.{m.fact}
    where {m.event_date} between $start and $end
      and ($inst is null or institution_code = $inst)"""


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

# One query, so that every figure comes from the same snapshot state. The reach counts an
# institution that has any liaison contact, U-COPE episode, referral or case discussion
# whose primary event date falls in the period. Table and column names come from the
# metric catalogue (plain identifiers, checked on loading); values are bound parameters.
# ``{of}`` narrows each figure to one row of ``each`` (the per-institution query) or to
# nothing (the totals of $inst): one text for both, so the two can never differ.
_FIGURES = f"""
with
liaison as ({_in_period("liaison_students")}),
ucope as ({_in_period("ucope_students")}),
received as ({_in_period("referrals_received")}),
waits as ({_in_period("referral_completed_waits")}),
discussions as ({_in_period("case_discussions")}),
discharges as ({_in_period("ucope_discharges")}),
active_institutions as (
    select institution_code from liaison
    union select institution_code from ucope
    union select institution_code from received
    union select institution_code from discussions
)
select
    {{code}}
    (select count(distinct student_key) from liaison x {{of}}) as liaison_students,
    (select count(distinct student_key) from ucope x {{of}}) as ucope_students,
    (select count(*) from received x {{of}}) as referrals_received,
    (select count(*) from waits x {{of}}) as referral_completed_waits,
    (select count(*) filter (where {_SEEN_6WK}) from waits x {{of}}) as referral_seen_6wk,
    (select quantile_cont(wait_days, 0.5) from waits x {{of}}) as referral_median_wait_days,
    (select 100.0 * count(*) filter (where {_SEEN_6WK}) / nullif(count(*), 0)
       from waits x {{of}}) as referral_seen_6wk_pct,
    (select count(*) filter (where has_both_scores) from discharges x {{of}}) as scored,
    (select count(*) filter (where {_IMPROVED}) from discharges x {{of}}) as improved,
    (select count(*) filter (where in_recovery_base) from discharges x {{of}}) as recovery_base,
    (select count(*) filter (where {_RECOVERED}) from discharges x {{of}}) as recovered,
    (select count(*) from active_institutions x {{of}}) as institutions,
    (select coalesce(sum(p.students), 0)
       from marts.dim_institution_populations p
       join active_institutions x using (institution_code)
      where p.academic_year = $year {{and_of}}) as students_enrolled
{{each}}
"""
_SQL = _FIGURES.format(code="", of="", and_of="", each="")
_SQL_EACH = _FIGURES.format(
    code="each.institution_code,",
    of="where x.institution_code = each.institution_code",
    and_of="and x.institution_code = each.institution_code",
    each="from (select unnest($codes) as institution_code) as each order by 1",
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
    assert row is not None  # an aggregate-only select always returns one row
    return _totals(start, end, institution, year, row)


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
