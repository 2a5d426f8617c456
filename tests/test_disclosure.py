"""The NHS disclosure rule: counts, percentages and rates from rounded counts, medians,
impact totals, and the one cell allowed to be exact."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from smhp.reporting.disclosure import (
    FOOTNOTE,
    SUPPRESSED,
    apply_to_impact,
    count_is_shown,
    exact_allowed,
    median,
    percentage,
    rate,
    round_to_5,
    suppress_count,
)
from smhp.reporting.impact import ImpactTotals, impact_totals
from smhp.reporting.release_periods import FUNDED, parse
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


def test_a_percentage_is_calculated_from_the_rounded_counts() -> None:
    # the back-calculation: 34 of 37 shown as 91.9 % gave 34 and 37 away
    assert percentage(34, 37) == 100.0  # 35 / 35
    assert percentage(13, 37) == pytest.approx(100 * 15 / 35)
    assert percentage(5, 40) == SUPPRESSED  # numerator 1-7
    assert percentage(0, 40) == 0.0
    assert percentage(3, 7) == SUPPRESSED  # base under 8
    assert percentage(0, 0) is None  # no records: no statistic, not '*'
    assert percentage(34, 37, exact=True) == pytest.approx(100 * 34 / 37)


def test_a_rate_is_calculated_from_the_rounded_count_and_denominator() -> None:
    assert rate(5, 12000) == SUPPRESSED  # its count is suppressed
    assert rate(9, 12003) == pytest.approx(1000 * 10 / 12005)
    assert rate(0, 12000) == 0.0
    assert rate(9, 0) is None


def test_a_median_is_hidden_on_a_small_base() -> None:
    assert median(57.1, 7) == SUPPRESSED
    assert median(62.5, 8) == 62.5  # a value, not a count: shown as it is
    assert median(None, 0) is None and median(3.0, 0) is None


def _totals(**changes: object) -> ImpactTotals:
    base = ImpactTotals(
        start=date(2019, 6, 1),
        end=date(2022, 7, 31),
        institution=None,
        liaison_students=123,
        ucope_students=5,
        referrals_received=0,
        referral_completed_waits=41,
        referral_seen_6wk=31,
        referral_median_wait_days=27.5,
        referral_seen_6wk_pct=100 * 31 / 41,
        ucope_scored_discharges=23,
        ucope_reliable_improvement=12,
        ucope_reliable_improvement_pct=100 * 12 / 23,
        ucope_recovery_base=21,
        ucope_reliable_recovery=6,
        ucope_reliable_recovery_pct=100 * 6 / 21,
        institutions=2,
        students_enrolled=55003,
        academic_year="2021/22",
    )
    return replace(base, **changes)


def test_apply_to_impact_controlled() -> None:
    out = apply_to_impact(_totals())
    assert out["liaison_students"] == 125  # 123 -> nearest 5
    assert out["ucope_students"] == SUPPRESSED  # 5 is in 1-7
    assert out["referrals_received"] == 0
    assert out["referral_completed_waits"] == 40
    assert out["referral_seen_6wk"] == 30
    assert out["referral_median_wait_days"] == 27.5  # base 41 >= 8: shown as it is
    assert out["referral_seen_6wk_pct"] == 75.0  # 30 / 40, never 31 / 41
    # the U-COPE outcomes likewise: from the rounded counts, * over a suppressed count
    assert (out["ucope_reliable_improvement"], out["ucope_scored_discharges"]) == (10, 25)
    assert out["ucope_reliable_improvement_pct"] == 40.0  # 10 / 25, never 12 / 23
    assert (out["ucope_reliable_recovery"], out["ucope_recovery_base"]) == (SUPPRESSED, 20)
    assert out["ucope_reliable_recovery_pct"] == SUPPRESSED
    # reach is a count leaving the board's view too: the same rule
    assert (out["institutions"], out["students_enrolled"]) == (SUPPRESSED, 55005)


def test_apply_to_impact_small_wait_base() -> None:
    out = apply_to_impact(_totals(referral_completed_waits=7, referral_seen_6wk=6))
    assert out["referral_completed_waits"] == SUPPRESSED
    assert out["referral_median_wait_days"] == SUPPRESSED
    assert out["referral_seen_6wk_pct"] == SUPPRESSED


def test_apply_to_impact_keeps_exactly_the_figures_named() -> None:
    totals = _totals()
    every = set(totals.to_dict()) - {"start", "end", "institution", "academic_year"}
    assert apply_to_impact(totals, every) == totals.to_dict()
    some = apply_to_impact(totals, {"liaison_students", "referral_completed_waits"})
    assert some["liaison_students"] == 123 and some["referral_completed_waits"] == 41
    assert some["referral_seen_6wk"] == 30  # not named: rounded
    assert some["referral_seen_6wk_pct"] == pytest.approx(100 * 30 / 40)  # one count rounded


def test_exact_only_for_the_partnership() -> None:
    with pytest.raises(ValueError, match="partnership-wide"):
        apply_to_impact(_totals(institution="UOL"), {"liaison_students"})


def test_exact_allowed_only_for_the_whole_funded_period_partnership_wide() -> None:
    assert exact_allowed(FUNDED, None)
    assert not exact_allowed(FUNDED, "UOL")
    assert not exact_allowed(parse("2020/21"), None)
    assert not exact_allowed(None, None)


def test_footnote_states_the_rule() -> None:
    for phrase in ("1 to 7", "nearest 5", "under 8", "rounded counts", "whole months"):
        assert phrase in FOOTNOTE


def test_impact_from_a_warehouse_then_controlled(tmp_path: Path) -> None:
    """End to end: a tiny warehouse -> impact_totals -> apply_to_impact."""
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """
        create schema marts;
        create table marts.fct_liaison_contacts as
            select 'c' || i as contact_id, 's' || (i % 3) as student_key,
                   'UOL' as institution_code, date '2023-03-01' as presented_on
            from range(6) t(i);                      -- 6 contacts, 3 students
        create table marts.fct_ucope_episodes (
            student_key varchar, institution_code varchar, referred_on date,
            discharged_on date, has_both_scores boolean, reliable_improvement boolean,
            in_recovery_base boolean, reliable_recovery boolean);
        create table marts.fct_referrals as
            select 'r' || i as referral_id, 'UOL' as institution_code,
                   date '2023-02-01' as referred_on, date '2023-03-01' as first_appointment_on,
                   (i * 10)::integer as wait_days, i * 10 <= 42 as seen_within_6wk
            from range(1, 10) t(i);                  -- 9 referrals, waits 10..90
        create table marts.fct_case_discussions (
            institution_code varchar, discussed_on date);
        create table marts.dim_institution_populations as
            select 'UOL' as institution_code, '2022/23' as academic_year, 30000 as students;
        """
    )
    con.close()
    con = open_published(path)
    try:
        totals = impact_totals(con, date(2023, 1, 1), date(2023, 3, 31), "UOL")
    finally:
        con.close()
    out = apply_to_impact(totals)
    assert out["liaison_students"] == SUPPRESSED  # 3 students
    assert out["referrals_received"] == 10  # 9 -> nearest 5
    assert out["referral_median_wait_days"] == pytest.approx(50.0)  # 10..90, middle 50
    assert out["referral_seen_6wk_pct"] == SUPPRESSED  # 4 of 9 seen: a numerator of 1-7
    assert out["students_enrolled"] == 30000
