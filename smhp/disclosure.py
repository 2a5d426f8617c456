"""Disclosure control: the NHS rule for figures below national level, as pure functions.

Any number that leaves the board's own view (the funder view, every export meant for funders
or the public) goes through these functions (metric spec, "Disclosure control"):

- counts of 1-7 are shown as ``*``; other counts are rounded to the nearest 5. A count of 0
  stays 0: the rule suppresses 1-7 only, and 0 rounded to the nearest 5 is 0.
- a percentage or median whose base (its denominator count) is under 8 is shown as ``*``.
- a rate (e.g. per 1,000 students) is derived from the unrounded counts and only shown
  where its count may be shown, i.e. where the count is not suppressed.
- partnership-wide (``ALL``) totals over the whole period may be shown exactly.

Rounding to the nearest 5 rounds halves up (12.5 -> 15, 17.5 -> 20). For whole counts a
tie cannot happen (a whole number is never exactly 2.5 from a multiple of 5); the rule is
fixed only so that a non-whole input, which should not occur, has a defined result.

Suppressed values are the string ``SUPPRESSED`` (``"*"``); a statistic with no value at
all (an empty denominator) stays ``None`` so that a page can show "no data" rather than
``*``.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smhp.impact import ImpactTotals

__all__ = [
    "FOOTNOTE",
    "SMALLEST_SHOWN",
    "SUPPRESSED",
    "apply_to_impact",
    "count_is_shown",
    "round_to_5",
    "suppress_count",
    "suppress_rate",
    "suppress_statistic",
]

SUPPRESSED = "*"
"""What a suppressed figure is shown as."""

SMALLEST_SHOWN = 8
"""The smallest non-zero count, and the smallest base of a percentage or median, shown."""

FOOTNOTE = (
    "Disclosure control (NHS rule for figures below national level): counts of 1 to 7 are "
    "shown as *, other counts are rounded to the nearest 5; a percentage or median whose "
    "base is under 8 is shown as *; rates are calculated from unrounded counts and shown "
    "only where their count may be shown. Partnership-wide totals over the whole period "
    "may be shown exactly."
)
"""The footnote stated wherever the rule applies."""


def _check_count(n: float) -> None:
    if isinstance(n, bool) or not math.isfinite(n) or n < 0:
        raise ValueError(f"A count must be a finite number >= 0, not {n!r}.")


def round_to_5(n: float) -> int:
    """``n`` rounded to the nearest multiple of 5, halves up (12.5 -> 15, 17.5 -> 20).

    Decimal arithmetic, so that a binary float's representation cannot flip a half.
    """
    fives = (Decimal(str(n)) / 5).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(fives) * 5


def count_is_shown(n: float) -> bool:
    """Whether a count may be shown as a number (0, or at least 8)."""
    _check_count(n)
    return n == 0 or n >= SMALLEST_SHOWN


def suppress_count(n: float) -> int | str:
    """A count as it may be published: 0 -> 0, 1-7 -> ``*``, otherwise nearest 5.

    Accepts a float so that values read from ``metrics_monthly.value`` (DOUBLE) pass
    through; 8 -> 10, 12 -> 10, 13 -> 15.
    """
    _check_count(n)
    if not count_is_shown(n):
        return SUPPRESSED
    return round_to_5(n)


def suppress_statistic(value: float | None, base: float) -> float | str | None:
    """A percentage or median as it may be published: ``*`` when its base is under 8.

    ``base`` is the number of records the statistic is computed over (its denominator).
    With a base of 0 there is no statistic: ``None`` is returned (and expected).
    The value itself is not rounded: it comes from the unrounded counts.
    """
    _check_count(base)
    if value is None or base == 0:
        return None
    if base < SMALLEST_SHOWN:
        return SUPPRESSED
    return value


def suppress_rate(value: float | None, count: float) -> float | str | None:
    """A rate derived from ``count`` (e.g. referrals per 1,000 students), as it may be shown.

    Shown only where its count may be (0 or at least 8); computed by the caller from the
    unrounded count, and not rounded here.
    """
    if value is None:
        return None
    return value if count_is_shown(count) else SUPPRESSED


# Keys of ImpactTotals and how each is controlled. The reach (`institutions`,
# `students_enrolled`) counts no people seen by a service, but it is a count leaving the
# board's view, so it follows the count rule like every other count.
_IMPACT_COUNTS = (
    "liaison_students",
    "ucope_students",
    "referrals_received",
    "referral_completed_waits",
    "institutions",
    "students_enrolled",
)
_IMPACT_WAIT_STATISTICS = ("referral_median_wait_days", "referral_seen_6wk_pct")


def apply_to_impact(totals: ImpactTotals, exact_all: bool) -> dict[str, Any]:
    """The impact totals as they may be published, as a dict (see ``ImpactTotals.to_dict``).

    ``exact_all=True`` keeps every figure exact; it is for the partnership-wide totals over
    the whole period only, and so refuses totals of a single institution. Otherwise counts
    of people and referrals follow ``suppress_count`` and the median wait and the share
    seen within 6 weeks follow ``suppress_statistic`` on their base, the number of first
    appointments in the period. The reach (``institutions``, ``students_enrolled``) is
    reference data, not people seen, but it is a count leaving the board's view, so it
    follows the same rule (read literally: "counts of 1-7 are shown as *").
    """
    out = totals.to_dict()
    if exact_all:
        if totals.institution is not None:
            raise ValueError(
                "Only partnership-wide totals may be shown exactly, not those of "
                f"{totals.institution}."
            )
        return out
    base = totals.referral_completed_waits
    for key in _IMPACT_WAIT_STATISTICS:
        out[key] = suppress_statistic(out[key], base)
    for key in _IMPACT_COUNTS:
        out[key] = suppress_count(out[key])
    return out
