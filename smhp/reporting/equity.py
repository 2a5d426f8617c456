"""Equity of access, the statistics (metric spec, "Equity of access"): who a service reached
compared with who is enrolled, band by band. Pure functions of counts, so that the page, its
CSV and the tests compute the same figures, exact or from disclosure-controlled counts.

- **Rate per 1,000 enrolled**: 1000 x reached / enrolled, with a 95 % **Wilson score
  interval** for the proportion reached / enrolled (Wilson 1927, "Probable inference, the law
  of succession, and statistical inference", JASA 22:209-212; recommended over the simple
  Wald interval by Newcombe 1998, "Two-sided confidence intervals for the single
  proportion", Statistics in Medicine 17:857-872): it stays within 0-1, is sound for small
  counts and for 0 or all reached.
- **Representation ratio**: (the band's share of the students reached with a known band) /
  (the band's share of the students enrolled with a known band); 1 = reached in proportion,
  below 1 = under-reached. Enrolled students whose band is not known are left out of the
  enrolled shares as the students reached with no known band are left out of the reached
  ones, so that both shares are over the same kind of students.
- **Its interval**: the Wilson interval of the band's share of the students reached (the band
  reached, of all reached with a known band) divided by the band's enrolled share. The
  enrolled counts are a headcount (a census, not a sample) and are taken as fixed; the
  interval describes the uncertainty of who happened to be reached. It inherits the Wilson
  interval's coverage and never goes below 0.
- **Reached clearly less than its share**: the ratio's whole interval lies below 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

Z_95 = 1.96
"""The standard normal quantile of a two-sided 95 % interval, to two places as the NHS and
public-health tools write it."""

NOT_KNOWN = "not_known"
"""The band of a student with no profile, or no value for the dimension: shown, never dropped."""

BANDS: dict[str, tuple[str, ...]] = {
    "study_level": ("undergraduate", "postgraduate_taught", "postgraduate_research", "foundation"),
    "year_of_study": tuple(str(y) for y in range(1, 8)),
    "domicile": ("home", "international"),
    "sex": ("female", "male", "other", NOT_KNOWN),
    "age_band": ("under_21", "21_24", "25_29", "30_plus"),
    "ethnic_group": ("asian", "black", "mixed", "white", "other", NOT_KNOWN),
}
"""The dimensions (student-profile fields) and their bands in the extract contract's order
(``student_profiles``); ``sex`` and ``ethnic_group`` have a ``not_known`` value of their own.
The enrolment seed (``seeds/make_enrolments.py``) and the equity page use this one list."""


def wilson_interval(k: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of the proportion ``k`` of ``n`` (0 <= k <= n, n > 0).

    centre = (p + z²/2n) / (1 + z²/n); half-width = z / (1 + z²/n) x sqrt(p(1-p)/n + z²/4n²).
    At k = 0 the lower limit is 0 and at k = n the upper limit is 1 (exactly: the rounding
    of the two terms is not allowed to leave 1e-17 below or above).
    """
    if not n > 0:
        raise ValueError(f"A Wilson interval needs n > 0, not {n!r}.")
    if not 0 <= k <= n:
        raise ValueError(f"A Wilson interval needs 0 <= k <= n, not k={k!r}, n={n!r}.")
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def per_1000(reached: float, enrolled: float) -> float | None:
    """1000 x reached / enrolled; ``None`` with no one enrolled."""
    return None if enrolled <= 0 else 1000.0 * reached / enrolled


def rate_interval(reached: float, enrolled: float) -> tuple[float, float] | None:
    """The 95 % Wilson interval of the rate, per 1,000 enrolled; ``None`` with no one
    enrolled, or more reached than enrolled (an estimated headcount below the students
    reached: the proportion is not a proportion)."""
    if enrolled <= 0 or reached > enrolled:
        return None
    low, high = wilson_interval(reached, enrolled)
    return 1000.0 * low, 1000.0 * high


def _enrolled_share(band_enrolled: float, known_enrolled: float) -> float | None:
    if known_enrolled <= 0 or band_enrolled <= 0:
        return None
    return band_enrolled / known_enrolled


def representation_ratio(
    band_reached: float, known_reached: float, band_enrolled: float, known_enrolled: float
) -> float | None:
    """(band_reached / known_reached) / (band_enrolled / known_enrolled); ``None`` when no one
    with a known band was reached or the band has no one enrolled."""
    share = _enrolled_share(band_enrolled, known_enrolled)
    if share is None or known_reached <= 0:
        return None
    return (band_reached / known_reached) / share


def ratio_interval(
    band_reached: float, known_reached: float, band_enrolled: float, known_enrolled: float
) -> tuple[float, float] | None:
    """The 95 % interval of the representation ratio: the Wilson interval of the band's share
    of the students reached, divided by its (fixed) share of the students enrolled."""
    share = _enrolled_share(band_enrolled, known_enrolled)
    if share is None or known_reached <= 0 or band_reached > known_reached:
        return None
    low, high = wilson_interval(band_reached, known_reached)
    return low / share, high / share


@dataclass(frozen=True)
class BandFigures:
    """The figures of one band: the rate per 1,000 enrolled and the representation ratio,
    each with its 95 % interval (``None`` where it cannot be computed)."""

    rate: float | None
    rate_low: float | None
    rate_high: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None


def band_figures(
    reached: float, enrolled: float, known_reached: float, known_enrolled: float
) -> BandFigures:
    """Every statistic of a band with a known value, from its counts and the totals over the
    bands with a known value (reached, enrolled)."""
    rate_limits = rate_interval(reached, enrolled) or (None, None)
    ratio_limits = ratio_interval(reached, known_reached, enrolled, known_enrolled) or (None, None)
    return BandFigures(
        per_1000(reached, enrolled),
        *rate_limits,
        representation_ratio(reached, known_reached, enrolled, known_enrolled),
        *ratio_limits,
    )


def under_reached(ratio_highs: Mapping[str, object]) -> list[str]:
    """The bands reached clearly less than their share: those whose ratio's upper 95 % limit
    is below 1 (given band -> upper limit; a missing or suppressed limit names nothing)."""
    return [
        band
        for band, high in ratio_highs.items()
        if isinstance(high, int | float) and not isinstance(high, bool) and high < 1
    ]
