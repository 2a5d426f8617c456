"""The SPC maths (dashboard/spc.py), checked against hand-computed series."""

from __future__ import annotations

import pytest

from dashboard.spc import (
    RULE_OUTSIDE,
    RULE_SHIFT,
    RULE_TREND,
    Assurance,
    Direction,
    Variation,
    analyse,
)


def flagged(values: list[float], direction: Direction = Direction.HIGHER) -> list[int]:
    return [i for i, p in enumerate(analyse(values, direction).points) if p.special]


def test_mean_and_limits_from_the_mean_moving_range() -> None:
    # mean 12; moving ranges 4, 4, 4, 4 -> mean 4; limits 12 ± 2.66 × 4 = 1.36 .. 22.64
    result = analyse([10, 14, 10, 14, 12], Direction.HIGHER)
    assert result.mean == pytest.approx(12)
    assert result.mean_moving_range == pytest.approx(3.5)  # 4, 4, 4, 2
    assert result.upper == pytest.approx(12 + 2.66 * 3.5)
    assert result.lower == pytest.approx(12 - 2.66 * 3.5)
    assert not any(p.special for p in result.points)
    assert result.variation is Variation.COMMON


def test_a_point_outside_the_limits_is_special_cause_on_its_side() -> None:
    values = [10, 11, 10, 11, 10, 11, 10, 11, 10, 40]
    result = analyse(values, Direction.HIGHER)
    last = result.points[-1]
    assert last.rules == (RULE_OUTSIDE,)
    assert (last.side, last.signal) == ("high", "improvement")
    assert result.variation is Variation.IMPROVEMENT_HIGH
    # the same point for a metric where lower is better is a concern
    assert analyse(values, Direction.LOWER).variation is Variation.CONCERN_HIGH
    assert analyse(values, Direction.NEITHER).variation is Variation.NEITHER_HIGH


def test_a_run_of_seven_on_one_side_is_a_shift_and_six_is_not() -> None:
    # mean of these 14 points is 10.5; the last 7 are below it, alternating so no trend
    seven = [13, 12, 13, 12, 13, 12, 13, 9, 8, 9, 8, 9, 8, 9]
    result = analyse(seven, Direction.HIGHER)
    assert [i for i, p in enumerate(result.points) if RULE_SHIFT in p.rules] == list(range(14))
    assert result.points[-1].side == "low" and result.points[-1].signal == "concern"
    six = [13, 12, 13, 12, 13, 12, 9, 8, 9, 8, 9, 8]
    assert not any(RULE_SHIFT in p.rules for p in analyse(six, Direction.HIGHER).points)


def test_a_point_on_the_mean_ends_a_run() -> None:
    # mean is exactly 10: the 10 breaks what would be a run of 8 above into 4 + 4
    values = [12, 11, 12, 11, 10, 12, 11, 12, 11, 8, 9, 8, 9, 8, 8, 8]
    assert sum(values) / len(values) == 10
    result = analyse(values, Direction.HIGHER)
    above = [i for i, p in enumerate(result.points) if RULE_SHIFT in p.rules and p.side == "high"]
    assert above == []
    below = [i for i, p in enumerate(result.points) if RULE_SHIFT in p.rules]
    assert below == list(range(9, 16))


def test_six_rising_is_a_trend_and_five_is_not() -> None:
    base = [20, 22, 20, 22, 20, 22, 20]
    rising6 = base + [15, 16, 17, 18, 19, 21]
    assert [
        i for i, p in enumerate(analyse(rising6, Direction.LOWER).points) if RULE_TREND in p.rules
    ] == list(range(7, 13))
    result = analyse(rising6, Direction.LOWER)
    assert result.points[-1].side == "high" and result.points[-1].signal == "concern"
    rising5 = base + [15, 16, 17, 18, 19]
    assert not any(RULE_TREND in p.rules for p in analyse(rising5, Direction.LOWER).points)


def test_an_equal_value_ends_a_trend() -> None:
    values = [20, 22, 20, 22, 20, 22, 20, 15, 16, 17, 17, 18, 19]
    assert not any(RULE_TREND in p.rules for p in analyse(values, Direction.HIGHER).points)


def test_falling_trend() -> None:
    values = [10, 12, 10, 12, 10, 12, 10, 16, 15, 14, 13, 12, 11]
    result = analyse(values, Direction.HIGHER)
    trend = [i for i, p in enumerate(result.points) if RULE_TREND in p.rules]
    assert trend == list(range(7, 13))
    assert result.points[-1].side == "low"


def test_assurance_compares_the_limits_with_the_target() -> None:
    steady = [80, 82, 80, 82, 80, 82, 80, 82]  # limits 81 ± 2.66 × 2 = 75.68 .. 86.32
    assert analyse(steady, Direction.HIGHER, 75).assurance is Assurance.PASS
    assert analyse(steady, Direction.HIGHER, 90).assurance is Assurance.FAIL
    assert analyse(steady, Direction.HIGHER, 81).assurance is Assurance.HIT_AND_MISS
    assert analyse(steady, Direction.LOWER, 90).assurance is Assurance.PASS
    assert analyse(steady, Direction.LOWER, 75).assurance is Assurance.FAIL
    assert analyse(steady, Direction.HIGHER).assurance is Assurance.NO_TARGET


def test_bounds_cut_the_limits_without_changing_signals() -> None:
    values = [2, 9, 1, 8, 2, 9, 1, 8]
    free = analyse(values, Direction.NEITHER)
    cut = analyse(values, Direction.NEITHER, bounds=(0.0, 10.0))
    assert free.lower < 0 and cut.lower == 0
    assert free.upper > 10 and cut.upper == 10
    assert [p.rules for p in free.points] == [p.rules for p in cut.points]


def test_a_flat_series_has_no_signal() -> None:
    result = analyse([5, 5, 5, 5, 5, 5, 5, 5], Direction.HIGHER)
    assert result.upper == result.lower == 5
    assert not any(p.special for p in result.points)


def test_too_few_points_have_no_limits() -> None:
    result = analyse([5], Direction.HIGHER, target=4)
    assert not result.has_limits
    assert result.variation is Variation.NOT_ENOUGH_DATA
    assert result.assurance is Assurance.NOT_ENOUGH_DATA
    assert analyse([], Direction.HIGHER).mean is None
