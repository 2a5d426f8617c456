"""When and how often things happen in the demo: seasons, weekdays, growth, lockdown.

Each institution's activity on a day is its enrolment times the academic year's demand
(a Covid dip, then growth), the month (freshers, January and May-June exams, summer lull),
the weekday and the holiday closures of the kind of event (urgent care never closes,
offices do). ``sample`` draws event days and institutions by that weight; ``expected``
turns a yearly rate per 1,000 students into a count over a window. The funded period has
fixed event counts instead, so the calibrated student counts come out exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import cache

from smhp import academic_year
from smhp.demo.population import INSTITUTIONS, Institution
from smhp.demo.timeline import days, is_closure

# Freshers (Sep-Oct), January and May-June exams, summer lull.
_MONTH_FACTOR = {
    1: 1.15,
    2: 1.0,
    3: 1.0,
    4: 0.8,
    5: 1.15,
    6: 1.05,
    7: 0.5,
    8: 0.45,
    9: 1.1,
    10: 1.45,
    11: 1.2,
    12: 0.8,
}
_MEAN_MONTH = sum(_MONTH_FACTOR.values()) / 12
#: Demand per academic year (Aug-Jul) relative to 2019/20: a Covid dip, then growth.
_GROWTH = {2019: 1.0, 2020: 0.9, 2021: 1.05, 2022: 1.3, 2023: 1.4, 2024: 1.5, 2025: 1.6, 2026: 1.7}
_LOCKDOWN = (date(2020, 3, 23), date(2020, 6, 30))


def growth(year: int) -> float:
    """An academic year's demand relative to 2019/20; past the table (a demo ending after
    July 2027), it keeps growing by the table's last yearly step."""
    last = max(_GROWTH)
    return _GROWTH.get(year, _GROWTH[last] + (_GROWTH[last] - _GROWTH[last - 1]) * (year - last))


@dataclass(frozen=True)
class Rhythm:
    """When a kind of event happens in the week (Mon..Sun, mean 1) and over the holidays."""

    weekday: tuple[float, ...]
    closure: float  # factor on the Christmas / New Year closure days


URGENT = Rhythm((1.0, 1.0, 1.0, 1.0, 1.05, 1.0, 0.95), 1.0)  # urgent care never closes
OFFICE = Rhythm((1.25, 1.25, 1.2, 1.2, 1.1, 0.5, 0.5), 0.1)  # weekend: online self-referral

#: Events per 1,000 students per year at 2019/20 demand.
LIAISON_PER_1000 = 3.4
REFERRALS_PER_1000 = 24.0
UCOPE_PER_1000 = 2.1
#: The funded period's events: fixed so that exactly the calibrated students appear.
FUNDED_LIAISON_CONTACTS = 543
FUNDED_UCOPE_EPISODES = 332

#: Relative chance of presenting at urgent care by hour of day: evenings and nights.
NIGHT_HOURS = (5, 4, 3, 2, 1.5, 1, 1, 1, 1.5, 2, 2.5, 3, 3, 3, 3, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6, 5)


def _day_weight(day: date, inst: Institution, rhythm: Rhythm) -> float:
    """Relative activity of one institution on one day (students x demand x season)."""
    if day < inst.first_day:
        return 0.0
    weight = inst.enrolment * growth(academic_year.start_year(day))
    weight *= _MONTH_FACTOR[day.month] / _MEAN_MONTH * rhythm.weekday[day.weekday()]
    if is_closure(day):
        weight *= rhythm.closure
    if _LOCKDOWN[0] <= day <= _LOCKDOWN[1]:
        weight *= 0.6
    return weight


@cache
def _activity(
    start: date, end: date, rhythm: Rhythm
) -> tuple[tuple[tuple[date, str], ...], tuple[float, ...]]:
    """Every (day, institution) in a window with its cumulative weight, for sampling."""
    cells: list[tuple[date, str]] = []
    cumulative: list[float] = []
    total = 0.0
    for day in days(start, end):
        for inst in INSTITUTIONS.values():
            weight = _day_weight(day, inst, rhythm)
            if weight > 0:
                total += weight
                cells.append((day, inst.code))
                cumulative.append(total)
    return tuple(cells), tuple(cumulative)


def sample(
    rng: random.Random, n: int, start: date, end: date, rhythm: Rhythm
) -> list[tuple[date, str]]:
    """``n`` (day, institution) draws in a window, weighted by activity, in date order."""
    cells, cumulative = _activity(start, end, rhythm)
    return sorted(rng.choices(cells, cum_weights=cumulative, k=n))


def expected(start: date, end: date, rhythm: Rhythm, per_1000: float) -> int:
    """How many events a rate gives over a window (student-years x rate)."""
    return round(_activity(start, end, rhythm)[1][-1] / 365.25 * per_1000 / 1000)
