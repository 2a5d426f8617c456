"""Statistical process control in the NHS "Making Data Count" style, as pure functions.

An XmR (individuals) chart: the centre line is the mean of the points, and the process
limits are ``mean ± 2.66 × mean moving range`` (the moving range is the absolute
difference between consecutive points; 2.66 = 3 / 1.128 turns it into three sigma).
A point is *special cause* when it is part of one of these signals:

- **outside the limits**: above the upper or below the lower process limit;
- **shift**: a run of 7 or more consecutive points on the same side of the mean (a point
  exactly on the mean ends a run: it is on neither side);
- **trend**: 6 or more consecutive points each strictly higher (or each strictly lower)
  than the one before (an equal value ends the trend).

These are the three rules the board asked for; Making Data Count's optional fourth rule
(two of three points near a limit) is left out on purpose, as are moving-range screening
and recalculated limits after a step change, so that a board member can check a chart by
hand with the formula above. Each special-cause point is *improvement* or *concern*
according to the metric's good direction (or *neither* for a metric with no good
direction, e.g. demand), on its *high* or *low* side.

The variation icon describes the latest point (as Making Data Count does: "what is the
process doing now?"); the assurance icon compares the process limits with a target:
a target outside the limits is consistently met or consistently missed, a target inside
them will be hit and missed at random.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import fmean

from smhp.reporting.catalogue import Direction

__all__ = [
    "MIN_POINTS_FOR_LIMITS",
    "RECOMMENDED_POINTS",
    "SHIFT_RUN",
    "SIGMA_FACTOR",
    "TREND_RUN",
    "Assurance",
    "Direction",
    "SpcPoint",
    "SpcResult",
    "Variation",
    "analyse",
]

SIGMA_FACTOR = 2.66
"""Process limits are the mean ± this × the mean moving range."""
SHIFT_RUN = 7
"""A run of this many points on one side of the mean is a shift."""
TREND_RUN = 6
"""This many points each rising (or each falling) is a trend."""
MIN_POINTS_FOR_LIMITS = 2
"""Fewer points have no moving range, so no limits (the chart is then a run chart)."""
RECOMMENDED_POINTS = 15
"""Below this many points the limits are unreliable; pages say so."""


class Variation(StrEnum):
    """The variation icon of the latest point."""

    COMMON = "common cause"
    IMPROVEMENT_HIGH = "special cause improvement (high)"
    IMPROVEMENT_LOW = "special cause improvement (low)"
    CONCERN_HIGH = "special cause concern (high)"
    CONCERN_LOW = "special cause concern (low)"
    NEITHER_HIGH = "special cause, neither better nor worse (high)"
    NEITHER_LOW = "special cause, neither better nor worse (low)"
    NOT_ENOUGH_DATA = "not enough data"


class Assurance(StrEnum):
    """The assurance icon: can the process be relied on to meet its target?"""

    PASS = "consistently meets the target"
    FAIL = "consistently misses the target"
    HIT_AND_MISS = "hit and miss: meets the target only sometimes"
    NO_TARGET = "no target"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class SpcPoint:
    """One point and the signals it is part of (``rules`` empty: common cause)."""

    value: float
    rules: tuple[str, ...]
    side: str | None  # "high" or "low" for a special-cause point
    signal: str | None  # "improvement", "concern" or "neither"

    @property
    def special(self) -> bool:
        """Whether the point is part of any special-cause signal."""
        return bool(self.rules)


@dataclass(frozen=True)
class SpcResult:
    """The chart's centre line, limits and points, and its two icons."""

    mean: float | None
    mean_moving_range: float | None
    upper: float | None
    lower: float | None
    points: tuple[SpcPoint, ...]
    variation: Variation
    assurance: Assurance

    @property
    def has_limits(self) -> bool:
        """Whether there were enough points for process limits."""
        return self.upper is not None


RULE_OUTSIDE = "outside the process limits"
RULE_SHIFT = f"run of {SHIFT_RUN} or more on one side of the mean"
RULE_TREND = f"{TREND_RUN} or more rising or falling"


def _runs(flags: Sequence[int]) -> list[tuple[int, int, int]]:
    """Maximal runs of equal non-zero flags as (start, end exclusive, flag)."""
    runs = []
    start = 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            if flags[start] != 0:
                runs.append((start, i, flags[start]))
            start = i
    return runs


def _shift_sides(values: Sequence[float], mean: float) -> dict[int, int]:
    """Points in a shift, with their side (+1 above the mean, -1 below)."""
    sides = [1 if v > mean else -1 if v < mean else 0 for v in values]
    return {
        i: side
        for start, end, side in _runs(sides)
        if end - start >= SHIFT_RUN
        for i in range(start, end)
    }


def _trend_sides(values: Sequence[float]) -> dict[int, int]:
    """Points in a trend, with its direction (+1 rising, -1 falling).

    A trend of n points is n - 1 consecutive steps the same way; each step marks both
    of its points.
    """
    steps = [1 if b > a else -1 if b < a else 0 for a, b in zip(values, values[1:], strict=False)]
    out: dict[int, int] = {}
    for start, end, way in _runs(steps):
        if end - start >= TREND_RUN - 1:
            for i in range(start, end + 1):
                out[i] = way
    return out


def _signal(side: int, direction: Direction) -> str:
    if direction is Direction.NEITHER:
        return "neither"
    good = 1 if direction is Direction.HIGHER else -1
    return "improvement" if side == good else "concern"


def _variation(point: SpcPoint) -> Variation:
    if not point.special:
        return Variation.COMMON
    return {
        ("improvement", "high"): Variation.IMPROVEMENT_HIGH,
        ("improvement", "low"): Variation.IMPROVEMENT_LOW,
        ("concern", "high"): Variation.CONCERN_HIGH,
        ("concern", "low"): Variation.CONCERN_LOW,
        ("neither", "high"): Variation.NEITHER_HIGH,
        ("neither", "low"): Variation.NEITHER_LOW,
    }[(point.signal or "", point.side or "")]


def _assurance(upper: float, lower: float, direction: Direction, target: float | None) -> Assurance:
    if target is None or direction is Direction.NEITHER:
        return Assurance.NO_TARGET
    if lower <= target <= upper:
        return Assurance.HIT_AND_MISS
    limits_above = lower > target
    meets = limits_above if direction is Direction.HIGHER else not limits_above
    return Assurance.PASS if meets else Assurance.FAIL


def analyse(
    values: Sequence[float],
    direction: Direction,
    target: float | None = None,
    bounds: tuple[float | None, float | None] = (None, None),
) -> SpcResult:
    """The XmR analysis of ``values`` (in time order, no gaps: leave missing points out).

    ``bounds``: the values the metric can take (0 for a count, 0 and 100 for a
    percentage); a limit beyond them is cut to the bound, as Making Data Count charts do,
    which changes no signal (no value lies beyond a bound). With fewer than
    ``MIN_POINTS_FOR_LIMITS`` points there are no limits and no signals. A conflict
    between rules on one point (e.g. a falling trend ending above the mean) is settled in
    the order outside > shift > trend for the point's side.
    """
    vals = [float(v) for v in values]
    if len(vals) < MIN_POINTS_FOR_LIMITS:
        points = tuple(SpcPoint(v, (), None, None) for v in vals)
        return SpcResult(
            fmean(vals) if vals else None,
            None,
            None,
            None,
            points,
            Variation.NOT_ENOUGH_DATA,
            Assurance.NOT_ENOUGH_DATA if target is not None else Assurance.NO_TARGET,
        )
    mean = fmean(vals)
    mr_bar = fmean(abs(b - a) for a, b in zip(vals, vals[1:], strict=False))
    upper = mean + SIGMA_FACTOR * mr_bar
    lower = mean - SIGMA_FACTOR * mr_bar
    if bounds[0] is not None:
        lower = max(lower, bounds[0])
    if bounds[1] is not None:
        upper = min(upper, bounds[1])
    shifts = _shift_sides(vals, mean)
    trends = _trend_sides(vals)
    points = []
    for i, v in enumerate(vals):
        rules: list[str] = []
        sides: list[int] = []
        if v > upper or v < lower:
            rules.append(RULE_OUTSIDE)
            sides.append(1 if v > upper else -1)
        if i in shifts:
            rules.append(RULE_SHIFT)
            sides.append(shifts[i])
        if i in trends:
            rules.append(RULE_TREND)
            sides.append(trends[i])
        if not rules:
            points.append(SpcPoint(v, (), None, None))
            continue
        side = sides[0]
        points.append(
            SpcPoint(v, tuple(rules), "high" if side > 0 else "low", _signal(side, direction))
        )
    return SpcResult(
        mean,
        mr_bar,
        upper,
        lower,
        tuple(points),
        _variation(points[-1]),
        _assurance(upper, lower, direction, target),
    )
