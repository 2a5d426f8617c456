"""Statistical process control: NHS England's *Making Data Count* as the NHS-R community's
NHSRplotthedots package computes it (its defaults), as small pure functions.

A trust's analysts redraw our charts with their own tools; they must get the same limits
and the same flagged points, so every step below is NHSRplotthedots' step (its
``ptd_spc_standard``, ``ptd_calculate_point_type`` and ``ptd_calculate_assurance_type``),
one function each:

1. **Segments** (rebasing, ``_segments``): declared change points split the series; every
   step below runs within one segment, and no run crosses a change.
2. **Limits** (``_limits``): the mean of the segment's values; the moving ranges
   ``|yᵢ − yᵢ₋₁|`` within it; **screening** (``_screened``, on by default): a moving range of
   at least 3.267 × their mean is dropped and the mean recomputed from those kept (the
   Making Data Count Excel tool does not screen: ``screen_outliers=False``). Process limits
   mean ± 2.66 × mean moving range; the "2σ" lines mean ± (2/3 × 2.66) × mean moving range.
   Limits are not cut at a metric's bounds (a lower limit of −0.72 stays −0.72).
3. **Rules**, each point flagged by any of: ``_outside`` (strictly beyond a limit);
   ``_shift`` (a run of 7 or more on one side of the mean; a point exactly on the mean
   breaks it); ``_trend`` (7 or more points each strictly higher, or each strictly lower,
   than the one before); ``_two_in_three`` (2 of 3 consecutive points beyond 2σ but inside
   the limits, all three on the same side of the mean; only the points beyond 2σ).
4. **Side** of a special-cause point (``_side``), by the first rule that holds in the order
   outside > trend > 2-of-3 > shift: the side of the mean, or for a trend its direction.
   Then improvement or concern by the metric's good direction, or *neither* for a metric
   without one.
5. **Icons**: the variation icon of the latest point (``_variation``); the assurance icon
   (``_assurance``) compares the target with the last segment's limits.

A segment of fewer than ``TRIAL_LIMITS_BELOW`` points has *trial limits* (it is flagged;
NHSRplotthedots warns), and one of fewer than ``MIN_POINTS_FOR_LIMITS`` has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import fmean

from smhp.reporting.catalogue import Direction

__all__ = [
    "CLOSE_FACTOR",
    "MIN_POINTS_FOR_LIMITS",
    "RULE_OUTSIDE",
    "RULE_SHIFT",
    "RULE_TREND",
    "RULE_TWO_IN_THREE",
    "RUN",
    "SCREEN_FACTOR",
    "SIGMA_FACTOR",
    "TRIAL_LIMITS_BELOW",
    "Assurance",
    "Direction",
    "Segment",
    "SpcPoint",
    "SpcResult",
    "Variation",
    "analyse",
]

SIGMA_FACTOR = 2.66
"""Process limits are the mean ± this × the mean moving range (3 / 1.128: three sigma)."""
CLOSE_FACTOR = 2 * SIGMA_FACTOR / 3
"""The "2σ" lines (near the limits): the mean ± this × the mean moving range."""
SCREEN_FACTOR = 3.267
"""Screening keeps a moving range only when it is below this × the mean moving range."""
RUN = 7
"""Points in a shift (on one side of the mean) or a trend (each beyond the one before)."""
TRIAL_LIMITS_BELOW = 12
"""A segment of fewer points has trial limits (they will move as points are added)."""
MIN_POINTS_FOR_LIMITS = 2
"""Fewer points have no moving range, so no limits (and no signal)."""

RULE_OUTSIDE = "outside the process limits"
RULE_TREND = f"{RUN} or more rising or falling"
RULE_TWO_IN_THREE = "2 of 3 beyond 2 sigma on one side of the mean"
RULE_SHIFT = f"run of {RUN} or more on one side of the mean"
RULES_BY_PRIORITY = (RULE_OUTSIDE, RULE_TREND, RULE_TWO_IN_THREE, RULE_SHIFT)
"""The order in which a point's rules decide its side (NHSRplotthedots' order)."""


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
class Segment:
    """One rebase group: points ``start`` to ``end`` (exclusive) and their own mean and
    limits (``None`` without enough points). ``upper_close``/``lower_close`` are the 2σ
    lines of the two-in-three rule."""

    start: int
    end: int
    mean: float
    mean_moving_range: float | None
    upper: float | None
    lower: float | None
    upper_close: float | None
    lower_close: float | None

    @property
    def size(self) -> int:
        """How many points the segment has."""
        return self.end - self.start

    @property
    def trial(self) -> bool:
        """Whether its limits are trial limits (fewer than ``TRIAL_LIMITS_BELOW`` points)."""
        return self.size < TRIAL_LIMITS_BELOW

    @property
    def has_limits(self) -> bool:
        """Whether the segment had enough points for process limits."""
        return self.upper is not None


@dataclass(frozen=True)
class SpcPoint:
    """One point, its segment and the signals it is part of (``rules`` empty: common
    cause; listed in ``RULES_BY_PRIORITY`` order)."""

    value: float
    segment: Segment
    rules: tuple[str, ...]
    side: str | None  # "high" (above the mean, or rising) or "low" for a special cause
    signal: str | None  # "improvement", "concern" or "neither"

    @property
    def special(self) -> bool:
        """Whether the point is part of any special-cause signal."""
        return bool(self.rules)


@dataclass(frozen=True)
class SpcResult:
    """The segments, the points and the two icons. ``mean``, ``upper``, ``lower`` and
    ``mean_moving_range`` are the *latest* segment's (what the icons are judged on)."""

    segments: tuple[Segment, ...]
    points: tuple[SpcPoint, ...]
    variation: Variation
    assurance: Assurance

    @property
    def latest(self) -> Segment | None:
        """The last segment (``None`` for an empty series)."""
        return self.segments[-1] if self.segments else None

    @property
    def mean(self) -> float | None:
        """The latest segment's mean."""
        return self.latest.mean if self.latest else None

    @property
    def mean_moving_range(self) -> float | None:
        """The latest segment's mean moving range (after screening)."""
        return self.latest.mean_moving_range if self.latest else None

    @property
    def upper(self) -> float | None:
        """The latest segment's upper process limit."""
        return self.latest.upper if self.latest else None

    @property
    def lower(self) -> float | None:
        """The latest segment's lower process limit."""
        return self.latest.lower if self.latest else None

    @property
    def has_limits(self) -> bool:
        """Whether the latest segment has process limits."""
        return self.latest is not None and self.latest.has_limits


# --- segments and limits -------------------------------------------------------------------


def _segments(size: int, change_points: Iterable[int]) -> list[tuple[int, int]]:
    """(start, end exclusive) of each segment of a series of ``size`` points. A change
    point is the index of the first point of a new segment; one at 0 or beyond the
    series changes nothing (there is nothing before it, or nothing after)."""
    cuts = sorted({i for i in change_points if 0 < i < size})
    bounds = [0, *cuts, size]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _moving_ranges(values: Sequence[float]) -> list[float]:
    """``|yᵢ − yᵢ₋₁|`` for each point after the first."""
    return [abs(b - a) for a, b in zip(values, values[1:], strict=False)]


def _screened(moving_ranges: Sequence[float]) -> list[float]:
    """The moving ranges kept by outlier screening: those strictly below
    ``SCREEN_FACTOR`` × their mean (a moving range equal to it is dropped).

    When every moving range is 0 there is nothing to screen and all are kept (their mean
    stays 0: limits on the mean). NHSRplotthedots would drop them all and draw no limits;
    no point is flagged either way, since no value differs from the mean.
    """
    amr = fmean(moving_ranges)
    if amr == 0:
        return list(moving_ranges)
    return [mr for mr in moving_ranges if mr < SCREEN_FACTOR * amr]


def _limits(start: int, end: int, values: Sequence[float], screen_outliers: bool) -> Segment:
    """The mean and limits of ``values[start:end]`` (one segment)."""
    own = values[start:end]
    mean = fmean(own)
    if len(own) < MIN_POINTS_FOR_LIMITS:
        return Segment(start, end, mean, None, None, None, None, None)
    ranges = _moving_ranges(own)
    amr = fmean(_screened(ranges) if screen_outliers else ranges)
    return Segment(
        start,
        end,
        mean,
        amr,
        mean + SIGMA_FACTOR * amr,
        mean - SIGMA_FACTOR * amr,
        mean + CLOSE_FACTOR * amr,
        mean - CLOSE_FACTOR * amr,
    )


# --- the rules, within one segment -----------------------------------------------------------


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _relative_to_mean(values: Sequence[float], mean: float) -> list[int]:
    """+1 above the mean, −1 below, 0 exactly on it."""
    return [_sign(v - mean) for v in values]


def _outside(values: Sequence[float], segment: Segment) -> list[bool]:
    """Strictly above the upper or below the lower process limit."""
    if not segment.has_limits:
        return [False] * len(values)
    assert segment.upper is not None and segment.lower is not None
    return [v > segment.upper or v < segment.lower for v in values]


def _close(values: Sequence[float], segment: Segment, outside: Sequence[bool]) -> list[bool]:
    """Beyond a 2σ line (strictly) but not outside the limits."""
    if not segment.has_limits:
        return [False] * len(values)
    assert segment.upper_close is not None and segment.lower_close is not None
    return [
        not out and (v > segment.upper_close or v < segment.lower_close)
        for v, out in zip(values, outside, strict=True)
    ]


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


def _shift(sides: Sequence[int]) -> list[bool]:
    """Part of a run of ``RUN`` or more points on one side of the mean (``sides`` from
    ``_relative_to_mean``: a point on the mean, 0, breaks the run)."""
    flagged = [False] * len(sides)
    for start, end, _ in _runs(sides):
        if end - start >= RUN:
            flagged[start:end] = [True] * (end - start)
    return flagged


def _trend(values: Sequence[float]) -> list[bool]:
    """Part of ``RUN`` or more points each strictly higher (or each strictly lower) than the
    one before: ``RUN − 1`` steps the same way; an equal value breaks it."""
    steps = [_sign(b - a) for a, b in zip(values, values[1:], strict=False)]
    flagged = [False] * len(values)
    for start, end, _ in _runs(steps):
        if end - start >= RUN - 1:  # steps start..end-1 join points start..end
            flagged[start : end + 1] = [True] * (end + 1 - start)
    return flagged


def _two_in_three(close: Sequence[bool], sides: Sequence[int]) -> list[bool]:
    """The points beyond 2σ of any 3 consecutive points of which at least 2 are beyond 2σ
    (inside the limits) and all 3 are on the same side of the mean (their sides sum to
    ±3, so a point on the mean breaks it)."""
    flagged = [False] * len(close)
    for i in range(len(close) - 2):
        window = range(i, i + 3)
        if sum(close[j] for j in window) >= 2 and abs(sum(sides[j] for j in window)) == 3:
            for j in window:
                flagged[j] = flagged[j] or close[j]
    return flagged


def _trend_directions(values: Sequence[float], trend: Sequence[bool]) -> list[int]:
    """The direction (+1 rising, −1 falling) of each trend point: the step to the next
    point when the next is in a trend too, else the step from the one before
    (NHSRplotthedots' "use right side")."""
    n = len(values)
    out = []
    for i in range(n):
        if i + 1 < n and trend[i] and trend[i + 1]:
            out.append(_sign(values[i + 1] - values[i]))
        else:
            out.append(_sign(values[i] - values[i - 1]) if i > 0 else 0)
    return out


# --- side, signal and icons ----------------------------------------------------------------


def _side(rules: Sequence[str], relative: int, direction_of_trend: int) -> int:
    """+1 (high / increasing) or −1 (low / decreasing) from the first rule in priority
    order: a trend by its direction, any other rule by the side of the mean."""
    first = next(r for r in RULES_BY_PRIORITY if r in rules)
    return direction_of_trend if first == RULE_TREND else relative


def _signal(side: int, direction: Direction) -> str:
    """Improvement or concern by the metric's good direction; neither without one."""
    if direction is Direction.NEITHER:
        return "neither"
    good = 1 if direction is Direction.HIGHER else -1
    return "improvement" if side == good else "concern"


_VARIATIONS = {
    ("improvement", "high"): Variation.IMPROVEMENT_HIGH,
    ("improvement", "low"): Variation.IMPROVEMENT_LOW,
    ("concern", "high"): Variation.CONCERN_HIGH,
    ("concern", "low"): Variation.CONCERN_LOW,
    ("neither", "high"): Variation.NEITHER_HIGH,
    ("neither", "low"): Variation.NEITHER_LOW,
}


def _variation(point: SpcPoint) -> Variation:
    """The variation icon of the latest point ("what is the process doing now?")."""
    if not point.segment.has_limits:
        return Variation.NOT_ENOUGH_DATA
    if not point.special:
        return Variation.COMMON
    return _VARIATIONS[(point.signal or "", point.side or "")]


def _assurance(segment: Segment | None, direction: Direction, target: float | None) -> Assurance:
    """The target against the last segment's limits: beyond the upper limit it is always
    missed (higher is better) or always met (lower is better), below the lower limit the
    opposite; on a limit or between them, hit and miss."""
    if target is None or direction is Direction.NEITHER:
        return Assurance.NO_TARGET
    if segment is None or not segment.has_limits:
        return Assurance.NOT_ENOUGH_DATA
    assert segment.upper is not None and segment.lower is not None
    higher_is_better = direction is Direction.HIGHER
    if target > segment.upper:
        return Assurance.FAIL if higher_is_better else Assurance.PASS
    if target < segment.lower:
        return Assurance.PASS if higher_is_better else Assurance.FAIL
    return Assurance.HIT_AND_MISS


def _segment_points(
    values: Sequence[float], segment: Segment, direction: Direction
) -> list[SpcPoint]:
    """The points of one segment with their rules, side and signal."""
    own = values[segment.start : segment.end]
    relative = _relative_to_mean(own, segment.mean)
    outside = _outside(own, segment)
    trend = _trend(own)
    flags = {
        RULE_OUTSIDE: outside,
        RULE_TREND: trend,
        RULE_TWO_IN_THREE: _two_in_three(_close(own, segment, outside), relative),
        RULE_SHIFT: _shift(relative),
    }
    directions = _trend_directions(own, trend)
    points = []
    for i, value in enumerate(own):
        rules = tuple(r for r in RULES_BY_PRIORITY if flags[r][i])
        if not rules:
            points.append(SpcPoint(value, segment, (), None, None))
            continue
        side = _side(rules, relative[i], directions[i])
        points.append(
            SpcPoint(value, segment, rules, "high" if side > 0 else "low", _signal(side, direction))
        )
    return points


def analyse(
    values: Sequence[float],
    direction: Direction,
    target: float | None = None,
    *,
    change_points: Iterable[int] = (),
    screen_outliers: bool = True,
) -> SpcResult:
    """The XmR analysis of ``values`` (in time order, no gaps: leave missing points out).

    ``change_points``: indices of the points where a new segment starts (rebasing), each
    segment with its own mean and limits, the rules applied within it. ``screen_outliers``:
    NHSRplotthedots' default; ``False`` is the Making Data Count Excel tool's variant.
    """
    vals = [float(v) for v in values]
    segments = [
        _limits(a, b, vals, screen_outliers) for a, b in _segments(len(vals), change_points)
    ]
    points = [p for s in segments for p in _segment_points(vals, s, direction)]
    latest = segments[-1] if segments else None
    return SpcResult(
        tuple(segments),
        tuple(points),
        _variation(points[-1]) if points else Variation.NOT_ENOUGH_DATA,
        _assurance(latest, direction, target),
    )
