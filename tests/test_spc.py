"""The SPC maths (smhp/reporting/spc.py) against NHSRplotthedots' worked example and each
rule at its boundary, computed by hand (the limits of each series are asserted first, so
a reader can check why a point is or is not flagged)."""

from __future__ import annotations

from itertools import accumulate

import pytest

from smhp.reporting.spc import (
    RULE_OUTSIDE,
    RULE_SHIFT,
    RULE_TREND,
    RULE_TWO_IN_THREE,
    Assurance,
    Direction,
    Segment,
    Variation,
    _outside,
    analyse,
)

WORKED_EXAMPLE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
"""NHSRplotthedots' worked example (and the metric spec's)."""


def with_rule(values: list[float], rule: str, **options: object) -> list[int]:
    """Indices of the points flagged by ``rule``."""
    points = analyse(values, Direction.HIGHER, **options).points  # type: ignore[arg-type]
    return [i for i, p in enumerate(points) if rule in p.rules]


# --- limits ----------------------------------------------------------------------------------


def test_the_worked_example_screened_gives_nhsrplotthedots_limits() -> None:
    result = analyse(WORKED_EXAMPLE, Direction.HIGHER)
    # mean 35/18; moving ranges fifteen 1s, an 8 and a 9: mean 32/17 = 1.88, and
    # 3.267 × 1.88 = 6.15 drops the 8 and the 9, leaving a mean moving range of 1.
    assert result.mean == pytest.approx(35 / 18, abs=1e-9)
    assert result.mean_moving_range == pytest.approx(1, abs=1e-9)
    assert result.upper == pytest.approx(35 / 18 + 2.66, abs=1e-9)
    assert result.lower == pytest.approx(35 / 18 - 2.66, abs=1e-9)
    assert (round(result.upper, 2), round(result.mean, 2), round(result.lower, 2)) == (
        4.6,
        1.94,
        -0.72,  # not cut at 0: the true limit
    )
    assert [i for i, p in enumerate(result.points) if p.special] == [4]
    assert result.points[4].rules == (RULE_OUTSIDE,)


def test_the_worked_example_unscreened_gives_the_excel_tools_limits() -> None:
    result = analyse(WORKED_EXAMPLE, Direction.HIGHER, screen_outliers=False)
    assert result.mean_moving_range == pytest.approx(32 / 17, abs=1e-9)
    assert result.upper == pytest.approx(35 / 18 + 2.66 * 32 / 17, abs=1e-9)
    assert result.lower == pytest.approx(35 / 18 - 2.66 * 32 / 17, abs=1e-9)
    assert (round(result.upper, 2), round(result.lower, 2)) == (6.95, -3.06)
    assert result.points[4].rules == (RULE_OUTSIDE,)  # 10 is beyond 6.95 too


def _series_with_moving_ranges(ranges: list[float]) -> list[float]:
    """A series whose moving ranges are ``ranges`` (up, down, up, ...)."""
    return [0.0, *accumulate(r if i % 2 == 0 else -r for i, r in enumerate(ranges))]


def test_screening_drops_a_moving_range_equal_to_3_267_times_the_mean() -> None:
    ranges = [748.0] * 8 + [749.0, 3267.0]  # mean exactly 1000: 3.267 × 1000 = 3267
    assert 3.267 * (sum(ranges) / len(ranges)) == 3267.0
    result = analyse(_series_with_moving_ranges(ranges), Direction.HIGHER)
    assert result.mean_moving_range == pytest.approx(6733 / 9)  # the 3267 dropped
    below = [748.0] * 8 + [749.0, 3266.0]  # mean 999.9: 3266 < 3266.67 is kept
    result = analyse(_series_with_moving_ranges(below), Direction.HIGHER)
    assert result.mean_moving_range == pytest.approx(999.9)


def test_a_flat_series_has_limits_on_the_mean_and_no_signal() -> None:
    result = analyse([5] * 8, Direction.HIGHER)
    assert result.upper == result.lower == 5
    assert not any(p.special for p in result.points)


def test_too_few_points_have_no_limits() -> None:
    result = analyse([5], Direction.HIGHER, target=4)
    assert not result.has_limits
    assert result.variation is Variation.NOT_ENOUGH_DATA
    assert result.assurance is Assurance.NOT_ENOUGH_DATA
    assert analyse([], Direction.HIGHER).mean is None


# --- the rules at their boundaries -----------------------------------------------------------


def test_a_point_strictly_outside_the_limits_is_special_cause_on_its_side() -> None:
    values = [10, 11, 10, 11, 10, 11, 10, 11, 10, 40]
    result = analyse(values, Direction.HIGHER)
    last = result.points[-1]
    assert last.rules == (RULE_OUTSIDE,)
    assert (last.side, last.signal) == ("high", "improvement")
    assert result.variation is Variation.IMPROVEMENT_HIGH
    assert analyse(values, Direction.LOWER).variation is Variation.CONCERN_HIGH
    assert analyse(values, Direction.NEITHER).variation is Variation.NEITHER_HIGH
    # exactly on a limit is inside (strictly beyond is outside)
    segment = Segment(0, 3, 10.0, 1.0, 12.66, 7.34, 11.0, 9.0)
    assert _outside([12.66, 7.34, 12.67], segment) == [False, False, True]


def test_seven_on_one_side_of_the_mean_is_a_shift_and_six_is_not() -> None:
    # mean 10.5; the last 7 below it, alternating so there is no trend
    seven = [13, 12, 13, 12, 13, 12, 13, 9, 8, 9, 8, 9, 8, 9]
    assert with_rule(seven, RULE_SHIFT) == list(range(14))
    last = analyse(seven, Direction.HIGHER).points[-1]
    assert (last.side, last.signal) == ("low", "concern")
    six = [13, 12, 13, 12, 13, 12, 9, 8, 9, 8, 9, 8]
    assert with_rule(six, RULE_SHIFT) == []


def test_a_point_exactly_on_the_mean_breaks_a_run() -> None:
    # mean exactly 10: the 10 splits what would be 9 above into 4 + 4
    values = [12, 11, 12, 11, 10, 12, 11, 12, 11, 8, 9, 8, 9, 8, 8, 8]
    assert sum(values) / len(values) == 10
    assert with_rule(values, RULE_SHIFT) == list(range(9, 16))  # only the 7 below
    unbroken = [12, 11, 12, 11, 11, 12, 11, 12, 11, 8, 9, 8, 9, 8, 8, 8]  # mean 10.06
    assert with_rule(unbroken, RULE_SHIFT) == list(range(16))


BASE = [20, 22, 20, 22, 20, 22, 20]


def test_seven_rising_is_a_trend_and_six_is_not() -> None:
    rising7 = [*BASE, 15, 16, 17, 18, 19, 21, 23]
    assert with_rule(rising7, RULE_TREND) == list(range(7, 14))
    last = analyse(rising7, Direction.LOWER).points[-1]
    assert (last.side, last.signal) == ("high", "concern")
    rising6 = [*BASE, 15, 16, 17, 18, 19, 21]
    assert with_rule(rising6, RULE_TREND) == []


def test_seven_falling_is_a_trend_and_six_is_not() -> None:
    base = [10, 12, 10, 12, 10, 12, 10]
    falling7 = [*base, 16, 15, 14, 13, 12, 11, 10]
    assert with_rule(falling7, RULE_TREND) == list(range(7, 14))
    assert analyse(falling7, Direction.HIGHER).points[-1].side == "low"
    assert with_rule(falling7[:-1], RULE_TREND) == []


def test_an_equal_value_breaks_a_trend() -> None:
    values = [*BASE, 15, 16, 17, 17, 18, 19, 21, 22]
    assert with_rule(values, RULE_TREND) == []


# mean 10.84, mean moving range 4.75: 2 sigma lines 2.42 and 19.26, limits -1.80 and 23.48
TWO_IN_THREE_BASE = [8, 12] * 10


def test_two_of_three_beyond_two_sigma_on_one_side_flags_only_the_points_beyond() -> None:
    values = [*TWO_IN_THREE_BASE, 20, 11, 20, 12, 8]
    result = analyse(values, Direction.HIGHER)
    latest = result.segments[-1]
    assert latest.upper_close == pytest.approx(10.84 + 2 * 2.66 / 3 * 4.75)
    assert latest.upper_close < 20 < latest.upper  # type: ignore[operator]
    assert with_rule(values, RULE_TWO_IN_THREE) == [20, 22]  # not the 11 between them
    assert result.points[20].side == "high"


def test_two_of_three_split_across_the_mean_is_not_flagged() -> None:
    values = [*TWO_IN_THREE_BASE, 20, 9, 20, 12, 8]  # the 9 is below the mean
    segment = analyse(values, Direction.HIGHER).segments[0]
    assert 9 < segment.mean < segment.upper_close < 20  # type: ignore[operator]
    assert with_rule(values, RULE_TWO_IN_THREE) == []


def test_the_side_follows_outside_then_trend_then_two_in_three_then_shift() -> None:
    # mean 12.53, limits 8.27 .. 16.79, 2 sigma lines 9.69 .. 15.37
    values = [14, 16] * 5 + [6, 7, 8, 9, 10, 11, 12]
    points = analyse(values, Direction.HIGHER).points
    # 6, 7, 8: below the lower limit, also in a rising trend and a run below: low
    assert all(points[i].rules[0] == RULE_OUTSIDE and points[i].side == "low" for i in (10, 11))
    # 9 .. 12: below the mean but rising: the trend decides (high: improvement)
    assert points[13].rules == (RULE_TREND, RULE_SHIFT)
    assert (points[13].side, points[13].signal) == ("high", "improvement")
    # the 16s: 2-of-3 and shift agree (above the mean)
    assert points[1].rules == (RULE_TWO_IN_THREE, RULE_SHIFT) and points[1].side == "high"


def test_a_trend_point_takes_the_direction_of_the_step_to_the_next_trend_point() -> None:
    # rising to 40 then falling: the peak starts the falling trend (NHSRplotthedots'
    # right side), the first point of the rising trend rises
    values = [30, 10, 30, 10, 30, 10, 30, 14, 18, 22, 26, 30, 34, 40, 33, 27, 24, 20, 17, 15]
    result = analyse(values, Direction.HIGHER)
    trend = with_rule(values, RULE_TREND)
    assert trend == list(range(7, 20))
    assert all(RULE_OUTSIDE not in p.rules for p in result.points)
    assert result.points[7].side == "high"
    assert result.points[13].side == "low"  # the peak
    assert result.points[19].side == "low"  # the last: the step from the one before


# --- assurance -------------------------------------------------------------------------------


def test_assurance_compares_the_target_with_the_limits_a_limit_itself_is_hit_and_miss() -> None:
    steady = [80, 82, 80, 82, 80, 82, 80, 82]  # limits 81 ± 2.66 × 2 = 75.68 .. 86.32
    result = analyse(steady, Direction.HIGHER)
    assert analyse(steady, Direction.HIGHER, 75).assurance is Assurance.PASS
    assert analyse(steady, Direction.HIGHER, 90).assurance is Assurance.FAIL
    assert analyse(steady, Direction.HIGHER, 81).assurance is Assurance.HIT_AND_MISS
    assert analyse(steady, Direction.LOWER, 90).assurance is Assurance.PASS
    assert analyse(steady, Direction.LOWER, 75).assurance is Assurance.FAIL
    for limit in (result.upper, result.lower):
        assert analyse(steady, Direction.HIGHER, limit).assurance is Assurance.HIT_AND_MISS
    assert analyse(steady, Direction.HIGHER).assurance is Assurance.NO_TARGET
    assert analyse(steady, Direction.NEITHER, 75).assurance is Assurance.NO_TARGET


def test_assurance_uses_the_last_segments_limits() -> None:
    values = [50, 52] * 6 + [80, 82] * 6
    # one segment: 66 ± 2.66 × 2 (the step of 28 screened out): 75 is above the limits
    assert analyse(values, Direction.HIGHER, 75).assurance is Assurance.FAIL
    # rebased: the last segment is 81 ± 5.32, above 75
    rebased = analyse(values, Direction.HIGHER, 75, change_points=[12])
    assert rebased.assurance is Assurance.PASS


# --- rebasing --------------------------------------------------------------------------------


def test_each_segment_has_its_own_mean_and_limits_and_the_points_know_theirs() -> None:
    values = [10, 11] * 6 + [20, 22] * 6
    result = analyse(values, Direction.HIGHER, change_points=[12])
    first, second = result.segments
    assert (first.start, first.end, second.start, second.end) == (0, 12, 12, 24)
    assert first.mean == pytest.approx(10.5) and second.mean == pytest.approx(21)
    assert first.upper == pytest.approx(10.5 + 2.66) and second.upper == pytest.approx(
        21 + 2.66 * 2
    )
    assert first.lower_close == pytest.approx(10.5 - 2 * 2.66 / 3)
    assert result.points[0].segment is first and result.points[-1].segment is second
    assert result.mean == second.mean and result.upper == second.upper  # the latest
    assert not first.trial and not second.trial
    assert not any(p.special for p in result.points)
    # without the change, the step is a shift on both sides
    assert with_rule(values, RULE_SHIFT) == list(range(24))


def test_runs_do_not_cross_a_change_point() -> None:
    values = [2, 0, 2, 0, 2, 0, 1, 1.5, 2, 2.5, 3, 3.5, 4, 1, 5, 1, 5, 1, 5]
    assert with_rule(values, RULE_TREND) == list(range(5, 13))  # 0 up to 4: 8 rising
    assert with_rule(values, RULE_TREND, change_points=[10]) == []


def test_a_segment_under_12_points_has_trial_limits() -> None:
    values = [10, 11] * 9
    result = analyse(values, Direction.HIGHER, change_points=[6])
    assert [s.trial for s in result.segments] == [True, False]  # 6 and 12 points
    assert [s.size for s in result.segments] == [6, 12]
    assert analyse(values[:11], Direction.HIGHER).segments[0].trial
    # a change at the start or past the end changes nothing
    assert len(analyse(values, Direction.HIGHER, change_points=[0, 18, 40]).segments) == 1


# --- the dashboard's use: change dates to segments, the chart and its description ------------


def test_declared_changes_split_a_shown_series_and_the_chart_draws_each_segment() -> None:
    from datetime import date

    import pandas as pd

    from dashboard import charts
    from dashboard.series import change_months, rebase_reasons, spc_of, spc_table
    from smhp.reporting.catalogue import info

    months = [date(2021 + m // 12, m % 12 + 1, 1) for m in range(20)]
    values: list[object] = [10, 11] * 7 + [20, 22, "*", 20, 22, 20]  # May 2022 suppressed
    series = pd.DataFrame({"month": months, "value": values})
    changes = pd.DataFrame(
        {
            "changed_on": [date(2022, 3, 1), date(2022, 8, 1), date(2019, 1, 1)],
            "institution_code": ["ALL"] * 3,
            "metric": ["*", "liaison_informed_72h_pct", "*"],
            "reason": ["Four institutions joined", "Another metric", "Before the chart"],
        }
    )
    mi = info("liaison_contacts")
    assert change_months(changes, mi.metric) == [date(2019, 1, 1), date(2022, 3, 1)]
    analysed, result = spc_of(series, mi, changes=change_months(changes, mi.metric))
    assert [(s.start, s.size, s.trial) for s in result.segments] == [(0, 14, False), (14, 5, True)]
    assert rebase_reasons(changes, mi.metric, analysed) == {
        date(2022, 3, 1): "Four institutions joined"
    }
    table = spc_table(series, analysed, result)
    assert list(table["mean"][:2]) == [10.5, 10.5] and table["mean"].iloc[-1] == 20.8
    assert table["limits_from"].iloc[16] == date(2022, 3, 1)  # the gap keeps its segment
    assert list(table["trial_limits"][13:15]) == [False, True]

    x = [m.isoformat() for m in analysed]
    fig = charts.spc_chart(
        x,
        result,
        title="Liaison contacts: common cause",
        y_title="Contacts",
        target=None,
        percent=False,
        reasons={"2022-03-01": "Four institutions joined"},
    )
    mean = next(t for t in fig.data if t.name == "Mean")
    assert list(mean.y) == [10.5] * 14 + [None] + [20.8] * 5  # broken at the change
    assert [a.text for a in fig.layout.annotations] == ["New limits"]
    assert [t.name for t in fig.data if t.meta == charts.TRIAL] == [
        "Trial limits (fewer than 12 points)"
    ]
    text = charts.describe(fig)
    assert "Reference lines: mean 10.5 from January 2021, 20.8 from March 2022;" in text
    assert "Trial limits (a segment of fewer than 12 points): March 2022 to August 2022." in text
    assert "Marked: new limits from March 2022 (Four institutions joined)." in text
    assert "Trial limits (fewer than 12 points):" not in text  # a label, not a series


def test_the_excel_variant_is_a_yes_no_setting_off_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smhp.settings import Settings, SettingsError

    monkeypatch.delenv("SMHP_SPC_EXCEL_VARIANT", raising=False)
    assert Settings.from_env().spc_excel_variant is False
    for text, expected in (("true", True), ("Yes", True), ("1", True), ("FALSE", False)):
        monkeypatch.setenv("SMHP_SPC_EXCEL_VARIANT", text)
        assert Settings.from_env().spc_excel_variant is expected
    monkeypatch.setenv("SMHP_SPC_EXCEL_VARIANT", "excel")
    with pytest.raises(SettingsError, match="SMHP_SPC_EXCEL_VARIANT must be true or false"):
        Settings.from_env()
