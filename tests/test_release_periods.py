"""Release periods: whole months, quarters, academic years and the funded period, offered
only once ended, parsed from their codes and nothing else."""

from __future__ import annotations

from datetime import date

import pytest

from smhp.reporting.release_periods import (
    FUNDED,
    academic_year_of,
    month_of,
    of_range,
    parse,
    quarter_of,
    released_periods,
)


def test_each_kind_of_period_and_its_label() -> None:
    assert month_of(date(2024, 2, 10)).end == date(2024, 2, 29)
    assert month_of(date(2024, 2, 10)).label == "February 2024"
    q = quarter_of(date(2023, 5, 1))
    assert (q.start, q.end, q.code, q.label) == (
        date(2023, 4, 1),
        date(2023, 6, 30),
        "2023-Q2",
        "Apr to Jun 2023",
    )
    y = academic_year_of(date(2020, 7, 31))
    assert (y.start, y.end, y.code) == (date(2019, 8, 1), date(2020, 7, 31), "2019/20")
    assert academic_year_of(date(2020, 8, 1)).code == "2020/21"
    assert (FUNDED.start, FUNDED.end) == (date(2019, 6, 1), date(2022, 7, 31))
    assert len(FUNDED.months()) == 38


def test_only_periods_that_have_ended_are_released() -> None:
    months = released_periods(date(2024, 1, 1), date(2024, 3, 30), "month")
    assert [m.code for m in months] == ["2024-02", "2024-01"]  # March has not ended
    assert [m.code for m in released_periods(date(2024, 1, 1), date(2024, 3, 31), "month")][0] == (
        "2024-03"
    )
    years = released_periods(FUNDED.start, date(2022, 7, 30), "academic_year")
    assert [y.code for y in years] == ["2020/21", "2019/20", "2018/19"]
    assert released_periods(FUNDED.start, date(2022, 7, 30), "funded") == []
    assert released_periods(FUNDED.start, date(2022, 7, 31), "funded") == [FUNDED]


@pytest.mark.parametrize("code", ["2021-03", "2021-Q2", "2020/21", "funded"])
def test_codes_round_trip(code: str) -> None:
    assert parse(code).code == code


@pytest.mark.parametrize(
    "bad", ["2021-13", "2021-Q5", "2020/22", "2019-06-01/2022-08-01", "", "all time"]
)
def test_anything_else_is_not_a_release_period(bad: str) -> None:
    with pytest.raises(ValueError, match="not a release period"):
        parse(bad)


def test_a_range_is_released_only_if_it_is_exactly_a_period() -> None:
    assert of_range(date(2021, 3, 1), date(2021, 3, 31)).code == "2021-03"
    assert of_range(date(2021, 1, 1), date(2021, 3, 31)).code == "2021-Q1"
    assert of_range(date(2020, 8, 1), date(2021, 7, 31)).code == "2020/21"
    with pytest.raises(ValueError):
        of_range(date(2021, 3, 1), date(2021, 3, 30))
