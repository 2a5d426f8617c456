"""The demo's timeline, and the calendar its events and extracts follow.

Every date in the demo is derived from the fixed days here and from its last night (a
``Timeline``: ``smhp demo --end``, yesterday by default, so a fresh demo is current), never
from today's date inside the generator, so the same end tells the same story on every
machine. The funded project period and the figures the pipeline must report for it are here
too: the services in ``events`` are calibrated to them, the decoys in ``messiness`` are
placed around them, and nothing of the funded period depends on the end. The academic-year
rule is not repeated here: it is ``smhp.academic_year``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

DEMO_START = date(2019, 9, 1)  # go-live night: the first extracts
FUNDED_PERIOD = (date(2019, 6, 1), date(2022, 7, 31))
#: The earliest last night a demo may have: every fault ``messiness`` plants over the years
#: (the latest in mid-2026) and the last month's special deliveries fit before it.
EARLIEST_END = date(2026, 10, 31)
#: The last night the tests and the documented figures pin (``--end``): the end the demo had
#: before it followed the calendar, and the earliest allowed.
PINNED_DEMO_END = EARLIEST_END
#: What the pipeline must report for the funded period (the published impact figures).
FUNDED_LIAISON_STUDENTS = 429
FUNDED_UCOPE_STUDENTS = 299

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def default_end(today: date | None = None) -> date:
    """The demo's default last night: the day before today (local date), so it is current."""
    return (today or date.today()) - timedelta(days=1)


@dataclass(frozen=True)
class Timeline:
    """The demo's last night, and the nights that follow from it.

    ``first_load`` is the night of ``smhp demo``'s first nightly run (the last week arrives
    in its second); ``quiet_from`` starts the last month, left to the special deliveries.
    """

    end: date

    def __post_init__(self) -> None:
        if self.end < EARLIEST_END:
            raise ValueError(
                f"the demo cannot end before {EARLIEST_END.isoformat()} (its planted faults and "
                f"last month's special deliveries need the room); got {self.end.isoformat()}"
            )

    @property
    def first_load(self) -> date:
        return self.end - timedelta(days=7)

    @property
    def quiet_from(self) -> date:
        return self.end - timedelta(days=30)


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
