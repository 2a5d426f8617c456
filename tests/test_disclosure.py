"""The NHS disclosure rule: counts, statistics, rates and impact totals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from smhp.disclosure import (
    FOOTNOTE,
    SUPPRESSED,
    apply_to_impact,
    count_is_shown,
    round_to_5,
    suppress_count,
    suppress_rate,
    suppress_statistic,
)
from smhp.impact import ImpactTotals, impact_totals
from smhp.warehouse import open_published


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, 0),  # not suppressed: the rule covers 1-7, and 0 rounds to 0
        (1, SUPPRESSED),
        (7, SUPPRESSED),
        (8, 10),  # the smallest shown count
        (12, 10),
        (13, 15),
        (17, 15),
        (18, 20),
        (1234, 1235),
        (12.0, 10),  # DOUBLE values from metrics_monthly
        (12.5, 15),  # halves round up (cannot happen for whole counts)
        (17.5, 20),
        (7.5, SUPPRESSED),  # below 8
    ],
)
def test_suppress_count(n: float, shown: int | str) -> None:
    assert suppress_count(n) == shown


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), True])
def test_suppress_count_rejects_non_counts(bad: float) -> None:
    with pytest.raises(ValueError):
        suppress_count(bad)


def test_round_to_5_halves_up() -> None:
    assert [round_to_5(x) for x in (2.5, 7.4999, 7.5, 22.5)] == [5, 5, 10, 25]


def test_count_is_shown() -> None:
    assert [count_is_shown(n) for n in (0, 1, 7, 8)] == [True, False, False, True]


def test_suppress_statistic() -> None:
    assert suppress_statistic(57.1, 7) == SUPPRESSED  # base under 8
    assert suppress_statistic(62.5, 8) == 62.5  # shown unrounded
    assert suppress_statistic(27.5, 100) == 27.5
    assert suppress_statistic(None, 0) is None  # no records: no statistic, not '*'
    assert suppress_statistic(0.0, 0) is None


def test_suppress_rate_follows_its_count() -> None:
    # 5 referrals per 12,000 students: the count is suppressed, so the rate is too
    assert suppress_rate(1000 * 5 / 12000, 5) == SUPPRESSED
    # 9 referrals: shown as 10, but the rate uses the unrounded 9
    assert suppress_rate(1000 * 9 / 12000, 9) == pytest.approx(0.75)
    assert suppress_rate(0.0, 0) == 0.0
    assert suppress_rate(None, 0) is None


def _totals(**changes: object) -> ImpactTotals:
    base = ImpactTotals(
        start=date(2019, 6, 1),
        end=date(2022, 7, 31),
        institution=None,
        liaison_students=123,
        ucope_students=5,
        referrals_received=0,
        referral_completed_waits=40,
        referral_median_wait_days=27.5,
        referral_seen_6wk_pct=75.0,
        institutions=2,
        students_enrolled=55003,
        academic_year="2021/22",
    )
    return replace(base, **changes)


def test_apply_to_impact_controlled() -> None:
    out = apply_to_impact(_totals(), exact_all=False)
    assert out["liaison_students"] == 125  # 123 -> nearest 5
    assert out["ucope_students"] == SUPPRESSED  # 5 is in 1-7
    assert out["referrals_received"] == 0
    assert out["referral_completed_waits"] == 40
    assert out["referral_median_wait_days"] == 27.5  # base 40 >= 8: shown unrounded
    assert out["referral_seen_6wk_pct"] == 75.0
    # reach is a count leaving the board's view too: the same rule
    assert (out["institutions"], out["students_enrolled"]) == (SUPPRESSED, 55005)


def test_apply_to_impact_small_wait_base() -> None:
    out = apply_to_impact(_totals(referral_completed_waits=7), exact_all=False)
    assert out["referral_completed_waits"] == SUPPRESSED
    assert out["referral_median_wait_days"] == SUPPRESSED
    assert out["referral_seen_6wk_pct"] == SUPPRESSED


def test_apply_to_impact_exact_all() -> None:
    totals = _totals()
    assert apply_to_impact(totals, exact_all=True) == totals.to_dict()


def test_exact_only_for_the_partnership() -> None:
    with pytest.raises(ValueError, match="partnership-wide"):
        apply_to_impact(_totals(institution="UOL"), exact_all=True)


def test_footnote_states_the_rule() -> None:
    for phrase in ("1 to 7", "nearest 5", "under 8", "unrounded"):
        assert phrase in FOOTNOTE


def test_impact_from_a_warehouse_then_controlled(tmp_path: Path) -> None:
    """End to end: a tiny warehouse -> impact_totals -> apply_to_impact."""
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """
        create schema marts; create schema seeds;
        create table marts.fct_liaison_contacts as
            select 'c' || i as contact_id, 's' || (i % 3) as student_key,
                   'UOL' as institution_code, date '2023-03-01' as presented_on
            from range(6) t(i);                      -- 6 contacts, 3 students
        create table marts.fct_ucope_episodes (
            student_key varchar, institution_code varchar, referred_on date);
        create table marts.fct_referrals as
            select 'r' || i as referral_id, 'UOL' as institution_code,
                   date '2023-02-01' as referred_on, date '2023-03-01' as first_appointment_on,
                   (i * 10)::integer as wait_days, i * 10 <= 42 as seen_within_6wk
            from range(1, 10) t(i);                  -- 9 referrals, waits 10..90
        create table marts.fct_case_discussions (
            institution_code varchar, discussed_on date);
        create table seeds.institution_populations as
            select 'UOL' as institution_code, '2022/23' as academic_year, 30000 as students;
        """
    )
    con.close()
    con = open_published(path)
    try:
        totals = impact_totals(con, date(2023, 1, 1), date(2023, 3, 31), "UOL")
    finally:
        con.close()
    out = apply_to_impact(totals, exact_all=False)
    assert out["liaison_students"] == SUPPRESSED  # 3 students
    assert out["referrals_received"] == 10  # 9 -> nearest 5
    assert out["referral_median_wait_days"] == pytest.approx(50.0)  # 10..90, middle 50
    assert out["referral_seen_6wk_pct"] == pytest.approx(400 / 9)  # 10, 20, 30, 40 of 9
    assert out["students_enrolled"] == 30000
