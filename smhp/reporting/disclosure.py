"""Disclosure control: the NHS rule for figures below national level, one function per
kind of figure, used by every disclosed output (page, CSV, pack, alert, ``smhp impact
--disclosed``), so the same cell always shows the same figure (metric spec, "Disclosure
control"):

- a **count** of 1-7 is ``*``; other counts are rounded to the nearest 5; 0 stays 0 (the
  rule suppresses 1-7, and 0 rounded to the nearest 5 is 0);
- a **percentage** is calculated from the *rounded* numerator and denominator (NHS
  Digital's method), so that no exact count can be worked back from it; ``*`` when its
  denominator is under 8 or its rounded numerator is ``*``;
- a **rate** (per 1,000) likewise from the rounded count and the rounded denominator;
  ``*`` when its count is ``*``;
- a **median** is ``*`` when its base (the number of values) is under 8; otherwise it is
  shown as it is: it is a value of the records, not a count, and cannot be subtracted;
- **exact** figures only for the one cell the spec allows, the partnership-wide (``ALL``)
  totals over exactly the whole funded period (``exact_allowed``); every function takes
  ``exact`` so that the caller decides per cell, once, and nothing else is exact.

Rounding to the nearest 5 rounds halves up (12.5 -> 15). For whole counts a tie cannot
happen; the rule is fixed only so that a non-whole input has a defined result.

Suppressed values are the string ``SUPPRESSED`` (``"*"``); a statistic with no value at
all (an empty denominator) is ``None`` so that a page can say "no data" rather than ``*``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from smhp.reporting.impact import OUTCOME_SHARES
from smhp.reporting.release_periods import FUNDED, ReleasePeriod

if TYPE_CHECKING:
    from smhp.reporting.impact import ImpactTotals

__all__ = [
    "FOOTNOTE",
    "SMALLEST_SHOWN",
    "SUPPRESSED",
    "Shown",
    "apply_to_impact",
    "count_is_shown",
    "exact_allowed",
    "median",
    "percentage",
    "rate",
    "round_to_5",
    "suppress_count",
]

SUPPRESSED = "*"
"""What a suppressed figure is shown as."""

SMALLEST_SHOWN = 8
"""The smallest non-zero count, and the smallest base of a percentage or median, shown."""

Shown = int | float | str | None
"""A figure as it may be published: a number, ``*``, or ``None`` (nothing to show)."""

FOOTNOTE = (
    "Disclosure control (NHS rule for figures below national level): counts of 1 to 7 are "
    "shown as *, other counts are rounded to the nearest 5; percentages and rates are "
    "calculated from the rounded counts, and a percentage, median or rate whose base is "
    "under 8 is shown as *. Figures are released for whole months, quarters, academic "
    "years or the whole funded period only. Only partnership-wide totals over exactly the "
    "whole funded project period (1 June 2019 to 31 July 2022) may be exact."
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


def suppress_count(n: float, exact: bool = False) -> int | str:
    """A count as it may be published: 0 -> 0, 1-7 -> ``*``, otherwise nearest 5
    (8 -> 10, 12 -> 10, 13 -> 15); ``exact`` (the allowed cell only): the count itself.

    Accepts a float so that values read from ``metrics_monthly.value`` (DOUBLE) pass.
    """
    _check_count(n)
    if exact:
        return int(n) if float(n).is_integer() else n  # type: ignore[return-value]
    if not count_is_shown(n):
        return SUPPRESSED
    return round_to_5(n)


def _ratio(numerator: float, denominator: float, scale: float, exact: bool) -> Shown:
    """``scale`` x numerator / denominator from the published (rounded) counts."""
    _check_count(numerator)
    _check_count(denominator)
    if denominator == 0:
        return None
    if exact:
        return scale * numerator / denominator
    if denominator < SMALLEST_SHOWN:
        return SUPPRESSED
    shown_numerator = suppress_count(numerator)
    if shown_numerator == SUPPRESSED:
        return SUPPRESSED
    return scale * float(shown_numerator) / round_to_5(denominator)


def percentage(numerator: float, denominator: float, exact: bool = False) -> Shown:
    """100 x numerator / denominator as it may be published.

    From the rounded numerator and denominator (NHS Digital's method): 34 of 37 is
    35 / 35 = 100.0, never 91.9, which would give the 34 and the 37 back. ``*`` when the
    denominator is under 8 or the numerator is suppressed (1-7); ``None`` with no
    denominator at all. ``exact`` (the allowed cell only): from the exact counts.
    """
    return _ratio(numerator, denominator, 100.0, exact)


def rate(count: float, denominator: float, per: float = 1000.0, exact: bool = False) -> Shown:
    """``per`` x count / denominator (e.g. per 1,000 students) as it may be published:
    from the rounded count and the rounded denominator; ``*`` where the count is."""
    return _ratio(count, denominator, per, exact)


def median(value: float | None, base: float, exact: bool = False) -> Shown:
    """A median over ``base`` values as it may be published: ``*`` when the base is under 8,
    ``None`` when there is no value; otherwise the median itself (not a count)."""
    _check_count(base)
    if value is None or base == 0:
        return None
    if base < SMALLEST_SHOWN and not exact:
        return SUPPRESSED
    return value


def exact_allowed(period: ReleasePeriod | None, institution: str | None) -> bool:
    """Whether a cell may be exact: partnership-wide (``institution`` None, i.e. ``ALL``)
    over exactly the whole funded project period, and nothing else."""
    return institution is None and period == FUNDED


# The reach (`institutions`, `students_enrolled`) counts no people seen by a service, but
# it is a count leaving the board's view, so it follows the count rule like every other.
REACH = frozenset({"institutions", "students_enrolled"})
_IMPACT_COUNTS = (
    "liaison_students",
    "ucope_students",
    "referrals_received",
    "referral_completed_waits",
    "referral_seen_6wk",
    # the U-COPE outcomes' counts: not released measures (smhp.reporting.released), never exact
    *(count for pair in OUTCOME_SHARES.values() for count in pair),
    *sorted(REACH),
)


def apply_to_impact(totals: ImpactTotals, exact: Collection[str] = ()) -> dict[str, Any]:
    """The impact totals as they may be published, as a dict (see ``ImpactTotals.to_dict``).

    ``exact`` names the counts this cell may show exactly: for the allowed cell only
    (``exact_allowed``; ``smhp.reporting.released.exact_figures`` says which of its counts
    are safe),
    so totals of a single institution with any exact count are refused. Other counts
    follow ``suppress_count``; the share seen within 6 weeks is ``percentage`` of the
    rounded counts (exact only if both of its counts are), as are the U-COPE outcome
    percentages, and the median wait ``median`` on its base, the first appointments in the
    period.
    """
    exact = frozenset(exact)
    if exact and totals.institution is not None:
        raise ValueError(
            f"Only partnership-wide totals may be shown exactly, not those of {totals.institution}."
        )
    out = totals.to_dict()
    waits = totals.referral_completed_waits
    waits_exact = "referral_completed_waits" in exact
    out["referral_median_wait_days"] = median(totals.referral_median_wait_days, waits, waits_exact)
    out["referral_seen_6wk_pct"] = percentage(
        totals.referral_seen_6wk, waits, waits_exact and "referral_seen_6wk" in exact
    )
    for pct, (met, base) in OUTCOME_SHARES.items():
        out[pct] = percentage(out[met], out[base], met in exact and base in exact)
    for key in _IMPACT_COUNTS:
        out[key] = suppress_count(out[key], key in exact)
    return out
