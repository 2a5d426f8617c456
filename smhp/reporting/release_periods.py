"""The fixed periods for which disclosed figures are released (metric spec, "Disclosure
control"): whole calendar months, whole calendar quarters, whole academic years, and the
whole funded project period — never a free date range.

Why fixed periods: two overlapping free ranges (1 June 2019 to 1 August 2022, then to
2 August...) give away the small counts between them by difference. With fixed periods
the only overlaps are nestings (a month inside its quarter and its academic year), whose
figures are each rounded, so a difference of two released figures is never exact.

Why only *ended* periods: a period still in progress would be released again every night
with a few more events, and two nights' figures for the same period differ by the day's
events. ``released_periods`` offers a period once its last day is on or before the data's
as-of date, and never before.

Why institutions only by academic year: figures of one measure for every month, quarter
and academic year, each for every institution *and* the partnership, form linked tables
(a quarter is its three months, the partnership the sum of its institutions) that a
reader can solve together. Rounded to the nearest 5, such tables give exact counts away:
on the demo data the linear-programming attack of ``smhp.reporting.disclosure_audit`` pinned 18
month and quarter counts of single institutions (June 2020 at LJMU: 39 referrals exactly).
So an institution's figures are released for academic years and the funded period only
(``kinds_for``), and months and quarters for the whole partnership; with that, the attack
pins nothing (``tests/test_disclosure_attacks.py``).

Quarters are calendar quarters (January to March, ...), labelled by their months
("Apr to Jun 2023") so that no one reads them as financial-year quarters.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from smhp import academic_year

__all__ = [
    "FUNDED",
    "INSTITUTION_KINDS",
    "KINDS",
    "ReleasePeriod",
    "check_release",
    "kinds_for",
    "academic_year_of",
    "month_of",
    "parse",
    "quarter_of",
    "released_periods",
]

Kind = Literal["month", "quarter", "academic_year", "funded"]
KINDS: dict[Kind, str] = {
    "month": "Month",
    "quarter": "Quarter",
    "academic_year": "Academic year",
    "funded": "Funded period",
}
"""Each kind of release period and its label, in the order a page offers them."""


@dataclass(frozen=True, order=True)
class ReleasePeriod:
    """One release period: ``start`` and ``end`` inclusive, ``code`` its stable name
    (``2021-03``, ``2021-Q2``, ``2020/21``, ``funded``) for URLs, audit logs and CSVs."""

    start: date
    end: date
    kind: Kind
    code: str

    @property
    def label(self) -> str:
        """How a page names the period: ``March 2021``, ``Apr to Jun 2021``,
        ``Academic year 2020/21``, ``Funded project period (June 2019 to July 2022)``."""
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        if self.kind == "quarter":
            return f"{self.start:%b} to {self.end:%b %Y}"
        if self.kind == "academic_year":
            return f"Academic year {self.code}"
        return f"Funded project period ({self.start:%B %Y} to {self.end:%B %Y})"

    def contains(self, other: ReleasePeriod) -> bool:
        """Whether ``other`` lies wholly within this period."""
        return self.start <= other.start and other.end <= self.end

    def months(self) -> list[ReleasePeriod]:
        """The calendar months that make up this period, in order."""
        out = []
        first = self.start
        while first <= self.end:
            out.append(month_of(first))
            first = _next_month(first)
        return out


FUNDED = ReleasePeriod(date(2019, 6, 1), date(2022, 7, 31), "funded", "funded")
"""The funded project period, 1 June 2019 to 31 July 2022: the only period whose
partnership-wide totals may be exact."""


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_of(day: date) -> ReleasePeriod:
    """The calendar month containing ``day``."""
    first = day.replace(day=1)
    return ReleasePeriod(first, _month_end(first), "month", f"{first:%Y-%m}")


def quarter_of(day: date) -> ReleasePeriod:
    """The calendar quarter containing ``day``."""
    q = (day.month - 1) // 3
    first = date(day.year, 3 * q + 1, 1)
    end = _month_end(date(day.year, 3 * q + 3, 1))
    return ReleasePeriod(first, end, "quarter", f"{day.year}-Q{q + 1}")


def academic_year_of(day: date) -> ReleasePeriod:
    """The academic year (1 August to 31 July) containing ``day``, coded ``2023/24``."""
    first, last = academic_year.bounds(day)
    return ReleasePeriod(first, last, "academic_year", academic_year.label(day))


INSTITUTION_KINDS: tuple[Kind, ...] = ("academic_year", "funded")
"""The kinds of period for which one institution's disclosed figures are released."""


def kinds_for(institution: str | None) -> tuple[Kind, ...]:
    """The kinds of release period for the partnership (``None``: every kind) or for one
    institution (academic years and the funded period)."""
    return tuple(KINDS) if institution is None else INSTITUTION_KINDS


def check_release(period: ReleasePeriod, institution: str | None) -> None:
    """Refuse a disclosed cell that is not released: ``ValueError`` for a month or quarter
    of a single institution (see the module docstring)."""
    if period.kind not in kinds_for(institution):
        raise ValueError(
            f"{period.label} is not released for one institution ({institution}): an "
            "institution's disclosed figures are released for academic years and the "
            "funded period only"
        )


_OF_KIND = {"month": month_of, "quarter": quarter_of, "academic_year": academic_year_of}


def released_periods(first_day: date, as_of: date, kind: Kind) -> list[ReleasePeriod]:
    """Every period of ``kind`` that overlaps ``[first_day, as_of]`` and has ended by
    ``as_of``, newest first. The funded period is offered once it has ended."""
    if kind == "funded":
        return [FUNDED] if FUNDED.end <= as_of else []
    of = _OF_KIND[kind]
    out: list[ReleasePeriod] = []
    period = of(first_day)
    while period.start <= as_of:
        if period.end <= as_of:
            out.append(period)
        period = of(date.fromordinal(period.end.toordinal() + 1))
    return out[::-1]


_CODES: list[tuple[re.Pattern[str], Kind]] = [
    (re.compile(r"(\d{4})-(0[1-9]|1[0-2])"), "month"),
    (re.compile(r"(\d{4})-Q([1-4])"), "quarter"),
    (re.compile(r"(\d{4})/(\d{2})"), "academic_year"),
]


def parse(code: str) -> ReleasePeriod:
    """The release period named by ``code`` (``2021-03``, ``2021-Q2``, ``2020/21``,
    ``funded``); ``ValueError`` for anything else, so that no free range gets through."""
    text = code.strip()
    if text == FUNDED.code:
        return FUNDED
    for pattern, kind in _CODES:
        match = pattern.fullmatch(text)
        if not match:
            continue
        year, part = int(match.group(1)), int(match.group(2))
        if kind == "month":
            return month_of(date(year, part, 1))
        if kind == "quarter":
            return quarter_of(date(year, 3 * part, 1))
        if part == (year + 1) % 100:
            return academic_year_of(date(year, 8, 1))
    raise ValueError(
        f"{code!r} is not a release period: use a month (2021-03), a quarter (2021-Q2), "
        "an academic year (2020/21) or 'funded'"
    )


def of_range(start: date, end: date) -> ReleasePeriod:
    """The release period that is exactly ``[start, end]``; ``ValueError`` if there is
    none (a free range is never released under disclosure control)."""
    for period in (FUNDED, month_of(start), quarter_of(start), academic_year_of(start)):
        if (period.start, period.end) == (start, end):
            return period
    raise ValueError(
        f"{start} to {end} is not a release period: disclosed figures are released for "
        "whole months, quarters, academic years or the whole funded period only"
    )
