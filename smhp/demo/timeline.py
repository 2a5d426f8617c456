"""The demo's timeline, and the calendar its events and extracts follow.

Every date in the demo is derived from the fixed days here, never from today's date, so the
demo tells the same story on every machine and every day. The funded project period and the
figures the pipeline must report for it are here too: the services in ``events`` are
calibrated to them, the decoys in ``messiness`` are placed around them. The academic-year
rule is not repeated here: it is ``smhp.academic_year``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

DEMO_START = date(2019, 9, 1)  # go-live night: the first extracts
DEMO_END = date(2026, 10, 31)  # the last extract night of the demo
FUNDED_PERIOD = (date(2019, 6, 1), date(2022, 7, 31))
#: What the pipeline must report for the funded period (the published impact figures).
FUNDED_LIAISON_STUDENTS = 429
FUNDED_UCOPE_STUDENTS = 299

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def is_closure(day: date) -> bool:
    """Christmas, Boxing Day and New Year's Day: offices and weekly meetings are closed."""
    return (day.month, day.day) in ((12, 25), (12, 26), (1, 1))


def working_day(day: date) -> date:
    """The first day on or after ``day`` when offices are open."""
    while day.weekday() >= SAT or is_closure(day):
        day += timedelta(days=1)
    return day


def next_weekday(day: date, weekday: int) -> date:
    """The first ``weekday`` (0 = Monday) on or after ``day``."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def meeting_on_or_after(day: date) -> date:
    """The weekly case-discussion meeting (Thursday) on or after ``day``, skipping closures."""
    meeting = next_weekday(day, THU)
    while is_closure(meeting):
        meeting += timedelta(days=7)
    return meeting


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def timestamp(moment: datetime) -> str:
    """A moment as the extracts write it (``updated_at``, ``presented_at``...)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def office_at(rng: random.Random, day: date) -> datetime:
    """A moment in office hours on the first working day on or after ``day``."""
    minutes = rng.randint(8 * 60 + 30, 18 * 60 + 30)
    moment = time(minutes // 60, minutes % 60, rng.randint(0, 59))
    return datetime.combine(working_day(day), moment)
