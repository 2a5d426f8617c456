"""Impact totals over a period, against a tiny hand-computed warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from smhp import academic_year
from smhp.reporting.impact import (
    ImpactTotals,
    impact_totals,
    impact_totals_by_institution,
    impact_totals_by_period,
)
from smhp.warehouse import open_published

# Only the columns impact_totals reads.
_SCHEMA = """
create schema marts;
create table marts.fct_liaison_contacts (
    contact_id varchar, student_key varchar, institution_code varchar, presented_on date);
create table marts.fct_ucope_episodes (
    episode_id varchar, student_key varchar, institution_code varchar, referred_on date,
    discharged_on date, has_both_scores boolean, reliable_improvement boolean,
    in_recovery_base boolean, reliable_recovery boolean);
create table marts.fct_referrals (
    referral_id varchar, student_key varchar, institution_code varchar, referred_on date,
    first_appointment_on date, wait_days integer, seen_within_6wk boolean);
create table marts.fct_case_discussions (
    discussion_id varchar, student_key varchar, institution_code varchar, discussed_on date);
create table marts.dim_institution_populations (
    institution_code varchar, academic_year varchar, students integer);
"""

_ROWS = """
insert into marts.fct_liaison_contacts values
    ('c1', 's1', 'UOL',  '2023-01-10'),
    ('c2', 's1', 'LJMU', '2023-03-05'),  -- s1 at two institutions: one student for ALL
    ('c3', 's2', 'UOL',  '2023-12-31'),  -- last day of the period: inside
    ('c4', 's3', 'UOL',  '2022-12-31'),  -- the day before: outside
    ('c5', 's4', 'HOPE', '2024-01-01');  -- the day after: outside
insert into marts.fct_ucope_episodes values
    -- discharged in the period: e1 recovered, e2 improved but not recovered, e4 (referred
    -- before the period) improved from below the cut-off: outside the recovery base
    ('e1', 's1', 'UOL',  '2023-02-01', '2023-04-01', true, true, true, true),
    ('e2', 's5', 'UOL',  '2023-06-01', '2023-08-01', true, true, true, false),
    ('e3', 's5', 'LJMU', '2023-07-01', null, false, null, false, null),  -- s5 at two
    ('e4', 's6', 'HOPE', '2022-11-01', '2023-01-15', true, false, false, null),  -- outside
    ('e5', 's6', 'HOPE', '2022-11-02', '2022-12-20', true, true, true, true);  -- all outside
insert into marts.fct_referrals values
    -- referred before the period, first appointment inside: a wait, not a referral received
    ('r1', 's1', 'UOL',  '2022-12-01', '2023-01-05', 35, true),
    ('r2', 's2', 'UOL',  '2023-01-02', '2023-02-20', 49, false),
    ('r3', 's7', 'LJMU', '2023-03-01', '2023-03-11', 10, true),
    -- received inside, first appointment after the period: not a wait of the period
    ('r4', 's8', 'LJMU', '2023-11-01', '2024-01-20', 80, false),
    ('r5', 's9', 'UOL',  '2023-05-01', null, null, null),  -- not seen yet
    ('r6', 's6', 'HOPE', '2022-10-01', '2022-11-01', 31, true),  -- all outside
    ('r7', 's7', 'LJMU', '2023-06-01', '2023-06-21', 20, true);
insert into marts.fct_case_discussions values
    ('d1', 's10', 'LIPA', '2023-04-01'),  -- LIPA's only record: makes it active
    ('d2', 's6',  'HOPE', '2024-02-01');  -- outside
insert into marts.dim_institution_populations values
    ('UOL',  '2022/23', 29000), ('UOL',  '2023/24', 30000),
    ('LJMU', '2022/23', 24000), ('LJMU', '2023/24', 25000),
    ('HOPE', '2023/24', 5000);  -- no LIPA row: LIPA adds no headcount
"""


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(_SCHEMA)
    con.execute(_ROWS)
    con.close()
    return path


def _totals(path: Path, start: date, end: date, institution: str | None = None) -> ImpactTotals:
    con = open_published(path)
    try:
        return impact_totals(con, start, end, institution)
    finally:
        con.close()


YEAR_START, YEAR_END = date(2023, 1, 1), date(2023, 12, 31)


def test_partnership_totals(warehouse: Path) -> None:
    t = _totals(warehouse, YEAR_START, YEAR_END)
    # liaison c1, c2 (both s1), c3 (s2) -> {s1, s2}
    assert t.liaison_students == 2
    # U-COPE e1 (s1), e2 + e3 (s5) -> {s1, s5}
    assert t.ucope_students == 2
    # referred in 2023: r2, r3, r4, r5, r7
    assert t.referrals_received == 5
    # first appointments in 2023: r1 35, r2 49, r3 10, r7 20 -> sorted 10, 20, 35, 49
    assert t.referral_completed_waits == 4
    # even count: interpolated median = (20 + 35) / 2
    assert t.referral_median_wait_days == pytest.approx(27.5)
    # seen within 6 weeks: r1, r3, r7 of 4
    assert t.referral_seen_6wk_pct == pytest.approx(75.0)
    # active: UOL, LJMU, LIPA (HOPE's records all fall outside the period)
    assert t.institutions == 3
    # 2023/24 (contains 31 Dec 2023): UOL 30000 + LJMU 25000 + LIPA (no row) 0
    assert t.students_enrolled == 55000
    assert t.academic_year == "2023/24"


def test_single_institution(warehouse: Path) -> None:
    uol = _totals(warehouse, YEAR_START, YEAR_END, "UOL")
    # liaison c1 (s1), c3 (s2); U-COPE e1 (s1), e2 (s5); referred r2, r5
    assert (uol.liaison_students, uol.ucope_students, uol.referrals_received) == (2, 2, 2)
    # waits r1 35, r2 49 -> median 42; seen r1 of 2 -> 50 %
    assert uol.referral_median_wait_days == pytest.approx(42.0)
    assert uol.referral_seen_6wk_pct == pytest.approx(50.0)
    assert (uol.institutions, uol.students_enrolled) == (1, 30000)

    ljmu = _totals(warehouse, YEAR_START, YEAR_END, "LJMU")
    # liaison c2 (s1); U-COPE e3 (s5); referred r3, r4, r7; waits r3 10, r7 20 -> 15, 100 %
    assert (ljmu.liaison_students, ljmu.ucope_students, ljmu.referrals_received) == (1, 1, 3)
    assert ljmu.referral_median_wait_days == pytest.approx(15.0)
    assert ljmu.referral_seen_6wk_pct == pytest.approx(100.0)
    # s1 counts once for ALL although UOL and LJMU each count it: 2 + 1 > 2
    assert uol.liaison_students + ljmu.liaison_students == 3


def test_headcount_year_follows_the_end_date(warehouse: Path) -> None:
    t = _totals(warehouse, YEAR_START, date(2023, 7, 31))
    # 31 July 2023 is in 2022/23; active UOL, LJMU, LIPA -> 29000 + 24000 + 0
    assert t.academic_year == "2022/23"
    assert (t.institutions, t.students_enrolled) == (3, 53000)
    # referred up to 31 July: r2, r3, r5, r7; waits r1, r2, r3, r7 (same as the year)
    assert t.referrals_received == 4
    assert t.referral_median_wait_days == pytest.approx(27.5)


def test_single_value_median_and_boundaries(warehouse: Path) -> None:
    # 1 Jan 2023 to 10 Jan 2023: liaison c1 only; first appointment r1 only (35 days)
    t = _totals(warehouse, date(2023, 1, 1), date(2023, 1, 10))
    assert t.liaison_students == 1
    assert t.referral_median_wait_days == pytest.approx(35.0)
    assert t.referral_seen_6wk_pct == pytest.approx(100.0)
    # 31 Dec 2023 alone: c3 is on the end date, inclusive
    assert _totals(warehouse, YEAR_END, YEAR_END).liaison_students == 1


def test_empty_period_has_no_statistics(warehouse: Path) -> None:
    t = _totals(warehouse, date(2021, 1, 1), date(2021, 12, 31))
    assert t.liaison_students == t.ucope_students == t.referrals_received == 0
    assert t.referral_completed_waits == 0
    assert t.referral_median_wait_days is None
    assert t.referral_seen_6wk_pct is None
    assert (t.institutions, t.students_enrolled) == (0, 0)


def test_institution_is_a_parameter_not_sql(warehouse: Path) -> None:
    t = _totals(warehouse, YEAR_START, YEAR_END, "UOL' or 1=1 --")
    assert t.liaison_students == 0 and t.institutions == 0


def test_rejects_a_reversed_period(warehouse: Path) -> None:
    with pytest.raises(ValueError, match="before it starts"):
        _totals(warehouse, YEAR_END, YEAR_START)


def test_to_dict(warehouse: Path) -> None:
    d = _totals(warehouse, YEAR_START, YEAR_END).to_dict()
    assert d["start"] == "2023-01-01" and d["end"] == "2023-12-31"
    assert d["institution"] is None
    for key in (
        "liaison_students",
        "ucope_students",
        "referrals_received",
        "referral_median_wait_days",
        "referral_seen_6wk_pct",
        "institutions",
        "students_enrolled",
    ):
        assert key in d


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2023, 7, 31), "2022/23"),
        (date(2023, 8, 1), "2023/24"),
        (date(2024, 1, 15), "2023/24"),
        (date(1999, 9, 1), "1999/00"),
    ],
)
def test_academic_year(day: date, year: str) -> None:
    assert academic_year.label(day) == year


def test_ucope_outcomes_over_the_discharges_of_the_period(warehouse: Path) -> None:
    t = _totals(warehouse, date(2023, 1, 1), date(2023, 12, 31))
    assert (t.ucope_scored_discharges, t.ucope_reliable_improvement) == (3, 2)  # e1, e2, e4
    assert t.ucope_reliable_improvement_pct == pytest.approx(200 / 3)
    assert (t.ucope_recovery_base, t.ucope_reliable_recovery) == (2, 1)  # e1 of e1, e2
    assert t.ucope_reliable_recovery_pct == 50
    uol = _totals(warehouse, date(2023, 1, 1), date(2023, 12, 31), "UOL")
    assert (uol.ucope_recovery_base, uol.ucope_reliable_recovery) == (2, 1)
    empty = _totals(warehouse, date(2021, 1, 1), date(2021, 12, 31))
    assert empty.ucope_reliable_improvement_pct is None
    assert empty.ucope_reliable_recovery_pct is None


def test_each_institution_in_one_query_equals_one_query_each(warehouse: Path) -> None:
    """``impact_totals_by_institution`` (the funder page's table; 270 institutions at
    national scale) gives exactly what ``impact_totals`` gives institution by institution,
    an institution without activity included (LSTM: nothing at all)."""
    codes = ["HOPE", "LIPA", "LJMU", "LSTM", "UOL"]
    con = open_published(warehouse)
    try:
        for start, end in ((YEAR_START, YEAR_END), (date(2023, 3, 1), date(2024, 6, 30))):
            each = impact_totals_by_institution(con, start, end, codes)
            assert each == [impact_totals(con, start, end, code) for code in codes]
    finally:
        con.close()


def test_each_period_in_one_query_equals_one_query_each(warehouse: Path) -> None:
    """``impact_totals_by_period`` (the funder page's academic years) gives exactly what
    ``impact_totals`` gives period by period, in the order asked: periods that overlap, one
    in the middle of another, one with nothing in it, for the partnership, one institution
    and one with no activity at all (LSTM)."""
    periods = [
        (YEAR_START, YEAR_END),
        (date(2022, 1, 1), date(2022, 12, 31)),
        (date(2023, 3, 1), date(2024, 6, 30)),
        (date(2023, 1, 1), date(2023, 1, 1)),
        (date(2021, 1, 1), date(2021, 12, 31)),
    ]
    con = open_published(warehouse)
    try:
        for institution in (None, "UOL", "LSTM"):
            each = impact_totals_by_period(con, periods, institution)
            assert each == [impact_totals(con, s, e, institution) for s, e in periods]
        assert impact_totals_by_period(con, [], None) == []
        with pytest.raises(ValueError, match="before it starts"):
            impact_totals_by_period(con, [(YEAR_END, YEAR_START)])
    finally:
        con.close()
